/**
 * `skiff secret|config create NAME -f FILE|-`, `ls`, `rm NAME` (and `config show NAME`): the
 * value is read from a file or stdin and sent base64; nothing prints a secret's value.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { secretViewSchema } from '../model/access-views.ts';
import type { SecretKind } from '../model/secret-ref.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { formatBytes, formatLocalTime } from './human-units.ts';
import { printLines, printText } from './output.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { listView, objectView } from './output-format-views.ts';
import { commandUsage } from './usage.ts';

export const runSecret = (argv: string[]) => run('secret', argv);
export const runConfig = (argv: string[]) => run('config', argv);

async function run(kind: SecretKind, argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS[kind],
  });
  if (values.help) return printText(commandUsage(kind));
  const [action, name, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`${kind} ${action}: unexpected ${rest.join(' ')}`);
  outputFormatFrom(values);
  const client = clientFromFlags(values);
  const plural = `${kind}s`;
  if (action === 'create') {
    if (!name) throw new UsageError(`${kind} create: a NAME is required`);
    if (!values.file) throw new UsageError(`${kind} create: -f FILE (or - for stdin) is required`);
    const data = readValue(kind, values.file);
    const entry = await client.post(
      `/api/${plural}`,
      { name, data: data.toString('base64') },
      secretViewSchema,
    );
    return printView(
      values,
      objectView(entry, entry.name, () => [
        `${kind} ${entry.name}: version ${entry.version}, ${formatBytes(entry.size_bytes)}`,
      ]),
    );
  }
  if (action === 'ls') {
    if (name) throw new UsageError(`${kind} ls: unexpected ${name}`);
    const entries = await client.get(`/api/${plural}`, z.array(secretViewSchema));
    return printView(
      values,
      listView(
        entries,
        ['NAME', 'VERSION', 'SIZE', 'UPDATED'],
        entries.map((e) => [
          e.name,
          String(e.version),
          formatBytes(e.size_bytes),
          formatLocalTime(e.updated_at),
        ]),
        entries.map((e) => e.name),
      ),
    );
  }
  if (action === 'rm') {
    if (!name) throw new UsageError(`${kind} rm: a NAME is required`);
    const { deleted } = await client.delete(
      `/api/${plural}/${encodeURIComponent(name)}`,
      z.object({ deleted: z.string() }),
    );
    return printLines([`removed ${kind} ${deleted}`]);
  }
  if (action === 'show' && kind === 'config') {
    if (!name) throw new UsageError('config show: a NAME is required');
    const config = await client.get(
      `/api/configs/${encodeURIComponent(name)}`,
      secretViewSchema.extend({ data: z.string() }),
    );
    if (outputFormatFrom(values) !== 'table')
      return printView(
        values,
        objectView(config, config.name, () => []),
      );
    process.stdout.write(Buffer.from(config.data, 'base64'));
    return;
  }
  const actions = kind === 'config' ? 'create, ls, show or rm' : 'create, ls or rm';
  throw new UsageError(`${kind}: expected ${actions}, got ${action ?? 'nothing'}`);
}

function readValue(kind: SecretKind, file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (error) {
    throw new UsageError(
      `${kind} create: cannot read ${file === '-' ? 'stdin' : file}: ${(error as Error).message}`,
    );
  }
}
