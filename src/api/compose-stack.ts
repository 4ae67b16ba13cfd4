/**
 * A Compose file sent to the server (`POST /api/stacks/{name}/compose`, the dashboard's deploy
 * form) → the stack request `skiff stack deploy` would have sent, and the server's refusals placed
 * back at the file's lines. The translation is src/compose's, with two differences that keep the
 * server's own secrets its own: no file is read (an env_file or a secret's `file:` is an error at
 * its line) and `${VAR}` comes from the request's `env` only, never from the server's environment.
 *
 * Every refusal is `FILE:LINE: services.NAME: …`, as the CLI prints a Compose file's errors: the
 * translator's own (an unknown key, an invalid value) already are; a refused spec (`services.N…`,
 * or a conflict naming the service) is placed at the service's key in the file, or at the key its
 * field came from where that is plain (`resources` → `deploy.resources`).
 */
import type { z } from 'zod';
import { ComposeError } from '../compose/compose-error.ts';
import { parseComposeFile } from '../compose/compose-file.ts';
import { mergeComposeFiles } from '../compose/merge.ts';
import { translateCompose } from '../compose/translate.ts';
import type { composeStackRequestSchema } from '../model/stack.ts';
import { HttpError } from './errors.ts';
import { type StackRequest, StackServiceError } from './stack-deploy.ts';

type ComposeRequest = z.output<typeof composeStackRequestSchema>;

export interface ComposeStackPlan {
  readonly request: StackRequest;
  /** Keys ignored as `docker stack deploy` ignores them, `FILE:LINE: key: …`. */
  readonly warnings: readonly string[];
  /** The same refusal with every message placed at the file's line of the service it names. */
  atLines(error: HttpError): HttpError;
}

/** Where a spec field came from in a Compose service, where that is one key. */
const COMPOSE_KEY_OF_FIELD: Readonly<Record<string, string>> = {
  image: 'image',
  replicas: 'deploy.replicas',
  mode: 'deploy.mode',
  resources: 'deploy.resources',
  placement: 'deploy.placement',
  update_policy: 'deploy.update_config',
  restart_policy: 'deploy.restart_policy',
  ports: 'ports',
  env: 'environment',
  command: 'command',
  entrypoint: 'entrypoint',
  health_check: 'healthcheck',
  networks: 'networks',
  aliases: 'networks',
  secrets: 'secrets',
  configs: 'configs',
  user: 'user',
  working_dir: 'working_dir',
  cap_add: 'cap_add',
  cap_drop: 'cap_drop',
  read_only: 'read_only',
  sysctls: 'sysctls',
  tmpfs: 'tmpfs',
  ulimits: 'ulimits',
  extra_hosts: 'extra_hosts',
  init: 'init',
  stop_grace_period: 'stop_grace_period',
  stop_signal: 'stop_signal',
};

const asHttpError = (error: ComposeError) => new HttpError(400, error.message, [error.message]);

export function composeStackPlan(stack: string, body: ComposeRequest): ComposeStackPlan {
  try {
    return planOf(stack, body);
  } catch (error) {
    if (error instanceof ComposeError) throw asHttpError(error);
    throw error;
  }
}

function planOf(stack: string, body: ComposeRequest): ComposeStackPlan {
  const parsed = parseComposeFile(body.file, body.content, body.env);
  const merged = mergeComposeFiles([parsed]);
  const plan = translateCompose(merged, { stack, env: body.env, envFiles: new Map() });
  const lineOf = (path: string): number => {
    const parts = path.split('.');
    for (let length = parts.length; length > 0; length--) {
      const found = merged.origins.get(parts.slice(0, length).join('.'));
      if (found) return found.line;
    }
    return 1;
  };
  const objects = plan.objects.map((object) => {
    if ('value' in object.source)
      return {
        kind: object.kind,
        name: object.name,
        data: Buffer.from(object.source.value).toString('base64'),
      };
    const key = `${object.kind}s.${object.name.slice(stack.length + 1)}`;
    throw new ComposeError(
      body.file,
      lineOf(`${key}.file`),
      key,
      `the server reads no files: give its value with environment: (and env), ${object.kind === 'config' ? 'content:, ' : ''}or deploy with skiff stack deploy`,
    );
  });
  // The Compose name of each spec, by its index and by its Skiff name (`shop-web` → `web`).
  const composeNames = plan.services.map((spec) => String(spec.name).slice(stack.length + 1));
  const place = (serviceIndex: number, field: string | undefined, message: string): string => {
    const name = composeNames[serviceIndex] ?? '';
    const composeKey = field === undefined ? undefined : COMPOSE_KEY_OF_FIELD[field.split('.')[0] ?? ''];
    const line = lineOf(`services.${name}${composeKey ? `.${composeKey}` : ''}`);
    return `${body.file}:${line}: services.${name}: ${message}`;
  };
  const placeText = (text: string, knownIndex: number | undefined): string => {
    let rest = text;
    let index = knownIndex;
    let field: string | undefined;
    const indexed = /^(?:invalid )?services\.(\d+)(?:\.([\w.]+))?: (.*)$/s.exec(rest);
    if (indexed) {
      index ??= Number(indexed[1]);
      field = indexed[2];
      rest = field ? `${field}: ${indexed[3] ?? ''}` : (indexed[3] ?? '');
    }
    const named = /^([\w-]+): (.*)$/s.exec(rest);
    const byName = named ? plan.services.findIndex((s) => s.name === named[1]) : -1;
    if (named && byName >= 0) {
      index ??= byName;
      rest = named[2] ?? '';
    }
    // A stack of one service: the checks name no service at all.
    index ??= plan.services.length === 1 ? 0 : undefined;
    if (index === undefined) return `${body.file}:1: ${rest}`;
    field ??= /^(?:refused by the admission policy: )?([\w.]+): /.exec(rest)?.[1];
    return place(index, field, rest);
  };
  return {
    request: {
      services: plan.services,
      secrets: objects.filter((o) => o.kind === 'secret').map(({ name, data }) => ({ name, data })),
      configs: objects.filter((o) => o.kind === 'config').map(({ name, data }) => ({ name, data })),
      prune: body.prune,
    },
    warnings: plan.warnings,
    atLines(error) {
      const index = /^(?:invalid )?services\.(\d+)\b/.exec(error.message)?.[1];
      const serviceIndex =
        error instanceof StackServiceError
          ? error.serviceIndex
          : index === undefined
            ? undefined
            : Number(index);
      const message = placeText(error.message, serviceIndex);
      // A spec's details name fields of that spec (`resources.memory_mb: …`), not services.N.
      const details = error.details?.map((d) => placeText(d, serviceIndex));
      return new HttpError(error.status, message, details ?? [message]);
    },
  };
}
