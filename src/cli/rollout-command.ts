/**
 * `skiff rollout status|history|undo NAME`: follow a service's rollout to its end (exit 1 if it
 * failed or was rolled back), list its revisions, or return to an earlier one and wait for that.
 */
import { revisionViewSchema } from '../model/rollout.ts';
import { serviceViewSchema } from '../model/views.ts';
import { servicePath } from './api-client.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { ExitStatusError, UsageError } from './errors.ts';
import { parseDurationFlagMs, parseIntegerFlag } from './flag-values.ts';
import { printLines, printText } from './output.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { listView, objectView } from './output-format-views.ts';
import { formatPullPhase } from './pull-phase-lines.ts';
import { commandUsage } from './usage.ts';
import { waitAndReport } from './wait-and-report.ts';

const ACTIONS = ['status', 'history', 'undo'] as const;

export async function runRollout(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.rollout,
  });
  if (values.help) return printText(commandUsage('rollout'));
  const [action, name, ...rest] = positionals;
  if (!(ACTIONS as readonly (string | undefined)[]).includes(action)) {
    throw new UsageError(`rollout: expected one of ${ACTIONS.join(', ')}, got ${action ?? 'nothing'}`);
  }
  if (!name || rest.length > 0)
    throw new UsageError(`rollout ${action}: exactly one service NAME is required`);
  const format = outputFormatFrom(values);
  const client = clientFromFlags(values);
  const timeoutMs = parseDurationFlagMs('--timeout', values.timeout);

  if (action === 'history') {
    const revisions = await client.get(servicePath(name, '/revisions'), revisionViewSchema.array());
    return printView(
      values,
      listView(
        revisions,
        ['REVISION', 'IMAGE', 'CREATED', 'CURRENT'],
        revisions.map((r) => [String(r.revision), r.image, r.created_at, r.current ? '*' : '']),
        revisions.map((r) => String(r.revision)),
      ),
    );
  }
  if (action === 'undo') {
    const body =
      values['to-revision'] === undefined
        ? {}
        : { revision: parseIntegerFlag('--to-revision', values['to-revision'], 1, Number.MAX_SAFE_INTEGER) };
    const service = await client.post(servicePath(name, '/rollback'), body, serviceViewSchema);
    if (values['no-wait']) return printLines([`rolling ${name} back to revision ${service.revision}`]);
    return waitAndReport(client, {
      name,
      timeoutMs,
      timeoutText: values.timeout,
      expectedRevision: service.revision,
    });
  }
  const service = await client.get(servicePath(name), serviceViewSchema);
  const rollout = service.rollout;
  if (format !== 'table' && format !== 'wide') {
    return printView(
      values,
      objectView(rollout, String(rollout?.to_revision ?? service.revision), () => []),
    );
  }
  if (!rollout) return printLines([`${name}: no rollout recorded (revision ${service.revision})`]);
  const from = rollout.from_revision === null ? 'first deploy' : `revision ${rollout.from_revision}`;
  const line = `${name}: rollout ${rollout.state.replace('_', ' ')} (${from} → revision ${rollout.to_revision})${
    rollout.message ? `: ${rollout.message}` : ''
  }`;
  const pull = rollout.pull ? formatPullPhase(rollout.pull, Date.now()) : [];
  if (rollout.state !== 'in_progress' || values['no-wait']) {
    printLines([line, ...pull]);
    // process.exitCode would be overwritten by what runCli returns: the status goes through it.
    if (rollout.state === 'failed' || rollout.state === 'rolled_back')
      throw new ExitStatusError(1, `rollout ${rollout.state}`);
    return;
  }
  // Where the pull phase stood when the wait began; the progress line follows it from there.
  if (pull.length > 0) printLines([line, ...pull]);
  await waitAndReport(client, {
    name,
    timeoutMs,
    timeoutText: values.timeout,
    expectedRevision: rollout.to_revision,
  });
}
