/**
 * `skiff stack deploy|ls|ps|rm|config`: Compose files read here, on the client, as `docker stack
 * deploy` reads them (src/compose), and sent as one batch of service specs with the secrets and
 * configs the files define; the server deploys it whole or not at all.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ComposeError } from '../compose/compose-error.ts';
import { type LoadedStack, loadComposeStack } from '../compose/load-compose.ts';
import { stackDeployViewSchema, stackSummarySchema, stackViewSchema } from '../model/stack.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { printText } from './output.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { listView, objectView } from './output-format-views.ts';
import { formatReplicaTable, formatServiceTable } from './service-tables.ts';
import { commandUsage } from './usage.ts';

export async function runStack(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.stack,
  });
  if (values.help) return printText(commandUsage('stack'));
  const [action, name, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`stack ${action}: unexpected ${rest.join(' ')}`);
  const files = values['compose-file'] ?? [];
  const format = outputFormatFrom(values);

  if (action === 'config') {
    const stack = load(name ?? 'stack', files);
    return printText(stringify(stack.merged));
  }
  if (action !== 'ls' && !name)
    throw new UsageError(`stack ${action ?? ''}: a stack NAME is required`.replace('  ', ' '));
  if (action === 'ls' && name) throw new UsageError(`stack ls: unexpected ${name}`);
  if (action === 'deploy' && name) {
    const stack = load(name, files);
    const body = {
      services: stack.services,
      secrets: objectsOf(stack, 'secret'),
      configs: objectsOf(stack, 'config'),
      prune: values.prune === true,
    };
    if (values['dry-run']) {
      // What would be sent, secret values left out.
      const shown = {
        ...body,
        secrets: body.secrets.map((s) => s.name),
        configs: body.configs.map((c) => c.name),
      };
      return format === 'table'
        ? printText(stringify(shown))
        : printView(
            values,
            objectView(shown, name, () => []),
          );
    }
    const client = clientFromFlags(values);
    const result = await client.post(`/api/stacks/${encodeURIComponent(name)}`, body, stackDeployViewSchema);
    return printView(
      values,
      objectView(result, name, () => [
        ...result.created.map((s) => `Creating service ${s}`),
        ...result.updated.map((s) => `Updating service ${s}`),
        ...result.unchanged.map((s) => `Service ${s} unchanged`),
        ...result.removed.map((s) => `Removing service ${s}`),
      ]),
    );
  }
  const client = clientFromFlags(values);
  if (action === 'ls') {
    const stacks = await client.get('/api/stacks', z.array(stackSummarySchema));
    return printView(
      values,
      listView(
        stacks,
        ['NAME', 'SERVICES', 'REPLICAS'],
        stacks.map((s) => [s.name, String(s.services), `${s.running}/${s.replicas}`]),
        stacks.map((s) => s.name),
      ),
    );
  }
  if (action === 'ps' && name) {
    const stack = await client.get(`/api/stacks/${encodeURIComponent(name)}`, stackViewSchema);
    const now = Date.now();
    return printView(values, {
      data: stack,
      table: () => [
        ...formatServiceTable(stack.services),
        '',
        ...formatReplicaTable({ containers: stack.services.flatMap((s) => s.containers) }, now),
      ],
      names: () => stack.services.map((s) => s.name),
    });
  }
  if (action === 'rm' && name) {
    const removed = await client.delete(
      `/api/stacks/${encodeURIComponent(name)}`,
      z.object({ deleted: z.string(), services: z.array(z.string()) }),
    );
    return printView(
      values,
      objectView(removed, removed.deleted, () => removed.services.map((s) => `Removing service ${s}`)),
    );
  }
  throw new UsageError(`stack: expected deploy, ls, ps, rm or config, got ${action ?? 'nothing'}`);
}

/** Reads and translates the files; warnings go to stderr, one line each, as docker stack deploy prints them. */
function load(stack: string, files: readonly string[]): LoadedStack {
  if (files.length === 0) throw new UsageError('stack: give a Compose file with -c FILE');
  try {
    const loaded = loadComposeStack({ stack, files, env: process.env });
    for (const warning of loaded.warnings) process.stderr.write(`warning: ${warning}\n`);
    return loaded;
  } catch (error) {
    if (error instanceof ComposeError) throw new UsageError(error.message);
    throw error;
  }
}

function objectsOf(stack: LoadedStack, kind: 'secret' | 'config'): { name: string; data: string }[] {
  return stack.objects
    .filter((o) => o.kind === kind)
    .map((o) => {
      if ('value' in o.source) return { name: o.name, data: Buffer.from(o.source.value).toString('base64') };
      const path = resolve(stack.directory, o.source.file);
      try {
        return { name: o.name, data: readFileSync(path).toString('base64') };
      } catch (error) {
        throw new UsageError(`${kind} ${o.name}: cannot read ${path}: ${(error as Error).message}`);
      }
    });
}
