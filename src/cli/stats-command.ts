/**
 * `skiff stats [SERVICE]`: like `docker stats`, across the cluster. Streams until Ctrl-C (on a
 * terminal the table is redrawn in place; otherwise each update is printed as a table followed
 * by a blank line); `--no-stream` prints once; `--json` (or `-o json`) prints the API's JSON (one
 * object per line when streaming).
 */
import type { z } from 'zod';
import type { NodeStats, ReplicaStats } from '../stats/stats-schema.ts';
import { clusterStatsSchema, serviceStatsSchema } from '../stats/stats-schema.ts';
import { servicePath } from './api-client.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { untilInterrupted } from './interrupt.ts';
import { printJson, printJsonLine, printLines, printText } from './output.ts';
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
  const output = values.output ?? (values.json ? 'json' : 'table');
  if (output !== 'json' && output !== 'table') throw new UsageError(`-o ${output}: expected table or json`);
  const json = output === 'json';
  const [service] = positionals;
  const client = clientFromFlags(values);
  // One shape per view: the cluster's has nodes, a service's has only its replicas.
  const path = service === undefined ? '/api/stats' : `${servicePath(service)}/stats`;
  const schema: z.ZodType<StatsView> = service === undefined ? clusterStatsSchema : serviceStatsSchema;
  const frame = (stats: StatsView) => formatStatsFrame(stats.replicas, stats.nodes);

  if (values['no-stream']) {
    const stats = await client.get(path, schema);
    return json ? printJson(stats) : printLines(frame(stats));
  }
  const tty = process.stdout.isTTY === true && !json;
  if (tty) process.stdout.write(CLEAR_SCREEN);
  await untilInterrupted(async (signal) => {
    for await (const stats of client.stream(`${path}?follow=true`, schema, signal)) {
      if (json) printJsonLine(stats);
      else if (tty)
        process.stdout.write(`${HOME}${frame(stats).join(`${CLEAR_BELOW}\n`)}${CLEAR_BELOW}\n${CLEAR_BELOW}`);
      else printLines([...frame(stats), '']);
    }
  });
}
