/**
 * `skiff events`: the cluster's events, oldest first, one `[local time] message` line each; `-f`
 * streams the backlog then live events as NDJSON until Ctrl-C.
 */
import { eventSchema } from '../model/event.ts';
import { clientFromFlags, noPositionals, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { formatEventLine } from './event-line.ts';
import { parseIntegerFlag, parseSinceFlag } from './flag-values.ts';
import { untilInterrupted } from './interrupt.ts';
import { printText } from './output.ts';
import { outputFormatFrom, prepareOutput, printView, renderStreamItem } from './output-format.ts';
import { commandUsage } from './usage.ts';

export async function runEvents(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.events,
  });
  if (values.help) return printText(commandUsage('events'));
  noPositionals(positionals);
  const query = new URLSearchParams();
  if (values.since !== undefined) query.set('since', parseSinceFlag('--since', values.since));
  if (values.service !== undefined) query.set('service', values.service);
  if (values.limit !== undefined) query.set('limit', String(parseIntegerFlag('--limit', values.limit, 1)));
  if (values.follow) query.set('follow', 'true');
  const path = query.size > 0 ? `/api/events?${query}` : '/api/events';
  const format = outputFormatFrom(values);
  // Before asking the server, so a wrong format is a usage error and not an answer's first line.
  if (format === 'name') throw new UsageError('events have no names: -o table|wide|json|yaml');
  await prepareOutput(format);
  const client = clientFromFlags(values);

  if (!values.follow) {
    const events = await client.get(path, eventSchema.array());
    return printView(values, { data: events, table: () => events.map(formatEventLine) });
  }
  await untilInterrupted(async (signal) => {
    for await (const event of client.stream(path, eventSchema, signal)) {
      process.stdout.write(renderStreamItem(format, event, () => formatEventLine(event)));
    }
  });
}
