/**
 * `skiff registry login HOST --username U --password-stdin`, `ls`, `logout HOST`: the cluster's
 * registry credentials. The password is read from stdin only (never an argument, which `ps` and
 * shell history would show), and nothing prints it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { registryViewSchema } from '../model/registry-views.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { formatLocalTime } from './human-units.ts';
import { printLines, printText } from './output.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { listView, objectView } from './output-format-views.ts';
import { commandUsage } from './usage.ts';

export async function runRegistry(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.registry,
  });
  if (values.help) return printText(commandUsage('registry'));
  const [action, host, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`registry ${action}: unexpected ${rest.join(' ')}`);
  outputFormatFrom(values);
  const client = clientFromFlags(values);
  if (action === 'login') {
    if (!host)
      throw new UsageError('registry login: a registry HOST[:PORT] is required (docker.io for Docker Hub)');
    if (!values.username) throw new UsageError('registry login: --username U is required');
    if (!values['password-stdin'])
      throw new UsageError(
        'registry login: --password-stdin is required (the password is read from stdin, never an argument)',
      );
    const password = readPassword();
    const entry = await client.post(
      '/api/registries',
      { registry: host, username: values.username, password },
      registryViewSchema,
    );
    return printView(
      values,
      objectView(entry, entry.registry, () => [
        `logged in to ${entry.registry} as ${entry.username}: nodes pull its images with this credential`,
      ]),
    );
  }
  if (action === 'ls') {
    if (host) throw new UsageError(`registry ls: unexpected ${host}`);
    const entries = await client.get('/api/registries', z.array(registryViewSchema));
    return printView(
      values,
      listView(
        entries,
        ['REGISTRY', 'USERNAME', 'UPDATED'],
        entries.map((e) => [e.registry, e.username, formatLocalTime(e.updated_at)]),
        entries.map((e) => e.registry),
      ),
    );
  }
  if (action === 'logout') {
    if (!host) throw new UsageError('registry logout: a registry HOST[:PORT] is required');
    const { deleted } = await client.delete(
      `/api/registries/${encodeURIComponent(host)}`,
      z.object({ deleted: z.string() }),
    );
    return printLines([`removed the credential for ${deleted}`]);
  }
  throw new UsageError(`registry: expected login, ls or logout, got ${action ?? 'nothing'}`);
}

/** The password on stdin, without its final newline (`echo pw | skiff registry login …`). */
function readPassword(): string {
  let text: string;
  try {
    text = readFileSync(0, 'utf8');
  } catch (error) {
    throw new UsageError(`registry login: cannot read the password from stdin: ${(error as Error).message}`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('registry login: the password on stdin is empty');
  return password;
}
