/**
 * `skiff logs NAME`: streams `GET /api/services/NAME/logs` as NDJSON and prints each line behind
 * its replica's name; `-f` keeps following until Ctrl-C.
 */
import { type LogLine, logLineSchema, type ServiceView, serviceViewSchema } from '../model/views.ts';
import { type ApiClient, servicePath } from './api-client.ts';
import { clientFromFlags, parseCommandArgs, singlePositional } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { parseIntegerFlag, parseSinceFlag } from './flag-values.ts';
import { untilInterrupted } from './interrupt.ts';
import { LogLineFormatter } from './log-prefix.ts';
import { printJson, printJsonLine, printText, stdoutWantsColour } from './output.ts';
import { commandUsage } from './usage.ts';

export async function runLogs(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.logs,
  });
  if (values.help) return printText(commandUsage('logs'));
  const name = singlePositional(positionals, 'service NAME');
  const query = new URLSearchParams({ format: 'ndjson' });
  if (values.tail !== undefined) query.set('tail', String(parseIntegerFlag('--tail', values.tail, 0)));
  if (values.since !== undefined) query.set('since', parseSinceFlag('--since', values.since));
  if (values.follow) query.set('follow', 'true');
  const path = servicePath(name, `/logs?${query}`);
  const client = clientFromFlags(values);

  if (values.json && !values.follow) {
    const lines: LogLine[] = [];
    await untilInterrupted(async (signal) => {
      for await (const log of client.stream(path, logLineSchema, signal)) lines.push(log);
    });
    return printJson(lines);
  }
  const atTerminal = process.stdout.isTTY === true;
  const formatter = new LogLineFormatter({
    colour: stdoutWantsColour(),
    pad: atTerminal,
    minWidth: atTerminal && !values.json ? widestReplicaName(await service(client, name)) : 0,
  });
  await untilInterrupted(async (signal) => {
    for await (const log of client.stream(path, logLineSchema, signal)) {
      if (values.json) printJsonLine(log);
      else process.stdout.write(`${formatter.format(log)}\n`);
    }
  });
}

function service(client: ApiClient, name: string): Promise<ServiceView> {
  return client.get(servicePath(name), serviceViewSchema);
}

/** The widest prefix expected, so the first lines already align with later ones. */
function widestReplicaName(service: ServiceView): number {
  const names = [
    `${service.name}-${Math.max(0, service.replicas - 1)}`,
    ...service.containers.map((c) => c.name),
  ];
  return Math.max(...names.map((name) => name.length));
}
