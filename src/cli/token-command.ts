/**
 * `skiff token create --role ROLE --name NAME [--expires 30d]`, `token ls`, `token rm NAME`:
 * API tokens with roles. `create` prints the secret once (the server keeps only its hash).
 * `skiff token rotate join`: a new join secret. The token keeps the CA's digest; agents that
 * joined keep working on their node certificates, agents still to join need the new token.
 * `skiff ca rotate`: a new cluster CA (src/security/cluster-pki.ts), printing the new token.
 */
import { z } from 'zod';
import { createdTokenViewSchema, tokenViewSchema } from '../model/access-views.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { formatLocalTime } from './human-units.ts';
import { printLines, printText } from './output.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { listView, objectView } from './output-format-views.ts';
import { commandUsage } from './usage.ts';

const joinTokenSchema = z.object({ join_token: z.string(), ca_digest: z.string() });

export async function runToken(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.token,
  });
  if (values.help) return printText(commandUsage('token'));
  const [action, ...rest] = positionals;
  outputFormatFrom(values);
  const client = clientFromFlags(values);
  if (action === 'rotate') {
    if (rest.join(' ') !== 'join') throw new UsageError('expected "token rotate join"');
    const answer = await client.post('/api/join-token/rotate', {}, joinTokenSchema);
    return printText(`${answer.join_token}\n`);
  }
  if (action === 'create') {
    if (rest.length > 0) throw new UsageError(`token create: unexpected ${rest.join(' ')}`);
    if (!values.name) throw new UsageError('token create: --name NAME is required');
    if (!values.role) throw new UsageError('token create: --role viewer|operator|admin is required');
    const body = {
      name: values.name,
      role: values.role,
      ...(values.expires ? { expires_in: values.expires } : {}),
    };
    const created = await client.post('/api/tokens', body, createdTokenViewSchema);
    return printView(
      values,
      objectView(created, created.name, () => [
        created.token,
        `# token ${created.name} (${created.role}${created.expires_at ? `, expires ${formatLocalTime(created.expires_at)}` : ''}): shown once, keep it now`,
      ]),
    );
  }
  if (action === 'ls') {
    if (rest.length > 0) throw new UsageError(`token ls: unexpected ${rest.join(' ')}`);
    const tokens = await client.get('/api/tokens', z.array(tokenViewSchema));
    const time = (iso: string | null) => (iso ? formatLocalTime(iso) : '-');
    return printView(
      values,
      listView(
        tokens,
        ['NAME', 'ROLE', 'CREATED', 'LAST USED', 'EXPIRES'],
        tokens.map((t) => [
          t.name,
          t.role,
          time(t.created_at),
          time(t.last_used_at),
          t.expires_at ? time(t.expires_at) : 'never',
        ]),
        tokens.map((t) => t.name),
      ),
    );
  }
  if (action === 'rm') {
    const [name, ...extra] = rest;
    if (!name) throw new UsageError('token rm: a NAME is required');
    if (extra.length > 0) throw new UsageError(`token rm: unexpected ${extra.join(' ')}`);
    const { deleted } = await client.delete(
      `/api/tokens/${encodeURIComponent(name)}`,
      z.object({ deleted: z.string() }),
    );
    return printLines([`removed token ${deleted}`]);
  }
  throw new UsageError(`token: expected create, ls or rm, got ${action ?? 'nothing'}`);
}

export async function runCa(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.ca,
  });
  if (values.help) return printText(commandUsage('ca'));
  if (positionals.join(' ') !== 'rotate') throw new UsageError('expected "ca rotate"');
  const answer = await clientFromFlags(values).post('/api/ca/rotate', {}, joinTokenSchema);
  printText(`${answer.join_token}\n`);
}
