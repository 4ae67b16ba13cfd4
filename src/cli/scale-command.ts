/**
 * `skiff scale NAME --replicas N`: sets the replica count, then, unless `--detach`, waits for the
 * service to converge and prints its `ps` row.
 */
import { serviceViewSchema } from '../model/views.ts';
import { servicePath } from './api-client.ts';
import { clientFromFlags, parseCommandArgs, singlePositional } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { parseDurationFlagMs, parseIntegerFlag } from './flag-values.ts';
import { printLines, printText } from './output.ts';
import { commandUsage } from './usage.ts';
import { waitAndReport } from './wait-and-report.ts';

export async function runScale(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.scale,
  });
  if (values.help) return printText(commandUsage('scale'));
  const name = singlePositional(positionals, 'service NAME');
  if (values.replicas === undefined) throw new UsageError('--replicas is required');
  const replicas = parseIntegerFlag('--replicas', values.replicas, 0, 1000);
  const timeoutMs = parseDurationFlagMs('--timeout', values.timeout);

  const client = clientFromFlags(values);
  await client.post(servicePath(name, '/scale'), { replicas }, serviceViewSchema);
  if (values.detach) return printLines([`scaled ${name} to ${replicas} replicas`]);
  await waitAndReport(client, { name, timeoutMs, timeoutText: values.timeout });
}
