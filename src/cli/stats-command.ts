/**
 * `skiff stats [SERVICE]`: like `docker stats`, across the cluster. Streams until Ctrl-C (on a
 * terminal the table is redrawn in place; otherwise each update is printed as a table followed
 * by a blank line, or one JSON object a line with `-o json`); `--no-stream` prints once, in any
 * of the read commands' formats (`-o name`: the replicas' names).
 */
import type { z } from 'zod';
import type { NodeStats, ReplicaStats } from '../stats/stats-schema.ts';
import { clusterStatsSchema, serviceStatsSchema } from '../stats/stats-schema.ts';
import { servicePath } from './api-client.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { untilInterrupted } from './interrupt.ts';
import { printText } from './output.ts';
import { outputFormatFrom, prepareOutput, printView, renderStreamItem } from './output-format.ts';
import { formatStatsFrame } from './stats-table.ts';
import { commandUsage } from './usage.ts';

/** Cursor home, then the frame, then clear what an older, longer frame left below. */
const HOME = '\x1b[H';
const CLEAR_BELOW = '\x1b[J';
const CLEAR_SCREEN = '\x1b[2J';

/** What both views have in common: the replicas, and the nodes of the cluster's. */
type StatsView = { readonly replicas: ReplicaStats[]; readonly nodes?: NodeStats[] };

export async function runStats(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.stats,
  });
  if (values.help) return printText(commandUsage('stats'));
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const format = outputFormatFrom(values);
  if (format === 'name' && !values['no-stream'])
    throw new UsageError('a followed stream has no names to print: -o table|json|yaml, or --no-stream');
  await prepareOutput(format);
  const [service] = positionals;
  const client = clientFromFlags(values);
  // One shape per view: the cluster's has nodes, a service's has only its replicas.
  const path = service === undefined ? '/api/stats' : `${servicePath(service)}/stats`;
  const schema: z.ZodType<StatsView> = service === undefined ? clusterStatsSchema : serviceStatsSchema;
  const frame = (stats: StatsView) => formatStatsFrame(stats.replicas, stats.nodes);

  if (values['no-stream']) {
    const stats = await client.get(path, schema);
    return printView(values, {
      data: stats,
      table: () => frame(stats),
      names: () => stats.replicas.map((r) => r.replica),
    });
  }
  const redraw = process.stdout.isTTY === true && (format === 'table' || format === 'wide');
  if (redraw) process.stdout.write(CLEAR_SCREEN);
  await untilInterrupted(async (signal) => {
    for await (const stats of client.stream(`${path}?follow=true`, schema, signal)) {
      if (redraw)
        process.stdout.write(`${HOME}${frame(stats).join(`${CLEAR_BELOW}\n`)}${CLEAR_BELOW}\n${CLEAR_BELOW}`);
      else process.stdout.write(renderStreamItem(format, stats, () => `${frame(stats).join('\n')}\n`));
    }
  });
}
