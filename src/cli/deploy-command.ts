/**
 * `skiff deploy`: sends the spec built from flags (and `--file`) to `POST /api/deploy`, then,
 * unless `--detach`, waits for the service to converge and prints its `ps` row.
 */
import { serviceViewSchema } from '../model/views.ts';
import { clientFromFlags, noPositionals, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { buildDeployBody } from './deploy-body.ts';
import { parseDurationFlagMs } from './flag-values.ts';
import { printLines, printText } from './output.ts';
import { readSpecFile } from './spec-file.ts';
import { commandUsage } from './usage.ts';
import { waitAndReport } from './wait-and-report.ts';

export async function runDeploy(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.deploy,
  });
  if (values.help) return printText(commandUsage('deploy'));
  noPositionals(positionals);
  const timeoutMs = parseDurationFlagMs('--timeout', values.timeout);
  const { name, body } = buildDeployBody(
    values,
    values.file === undefined ? undefined : readSpecFile(values.file),
  );

  const client = clientFromFlags(values);
  const service = await client.post('/api/deploy', body, serviceViewSchema);
  if (values.detach) return printLines([`deployed ${name} revision ${service.revision}`]);
  await waitAndReport(client, {
    name,
    timeoutMs,
    timeoutText: values.timeout,
    expectedRevision: service.revision,
  });
}
