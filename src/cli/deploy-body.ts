/**
 * Turns `skiff deploy` flags (and an optional `--file` spec) into the body of `POST /api/deploy`.
 * Flags override the file field by field: scalars, lists (`ports`, `command`, `cap_add`,
 * `secrets`, …) and `sysctls` replace, while `env`,
 * `labels`, `resources`, `health_check`, `restart_policy` and `placement` merge key by key, so `-f spec.json
 * --health-interval 5s` changes only the interval. The server validates the result; this only
 * checks what a flag alone can get wrong, and names the flag when it does.
 */
import { privilegeFields, privilegeOptions } from './deploy-privileges.ts';
import { volumeFields, volumeOptions } from './deploy-volumes.ts';
import { UsageError } from './errors.ts';
import {
  parseChoiceFlag,
  parseDurationFlag,
  parseIntegerFlag,
  parseKeyValueFlag,
  parseMemoryMb,
  parsePortFlag,
  parsePositiveNumberFlag,
} from './flag-values.ts';
import { ShellSyntaxError, splitShellWords } from './shell-words.ts';

export const deployOptions = {
  name: { type: 'string' },
  image: { type: 'string' },
  replicas: { type: 'string' },
  port: { type: 'string', short: 'p', multiple: true },
  cpus: { type: 'string' },
  'cpu-shares': { type: 'string' },
  memory: { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  command: { type: 'string' },
  'health-type': { type: 'string' },
  'health-endpoint': { type: 'string' },
  'health-path': { type: 'string' },
  'health-port': { type: 'string' },
  'health-command': { type: 'string' },
  'health-interval': { type: 'string' },
  'health-timeout': { type: 'string' },
  'health-retries': { type: 'string' },
  'health-start-period': { type: 'string' },
  restart: { type: 'string' },
  label: { type: 'string', multiple: true },
  constraint: { type: 'string', multiple: true },
  'replicas-max-per-node': { type: 'string' },
  placement: { type: 'string' },
  'stop-grace-period': { type: 'string' },
  file: { type: 'string', short: 'f' },
  ...privilegeOptions,
  ...volumeOptions,
} as const;

/** The spec-shaping flags as parseArgs returns them (all optional). */
export type DeployFlags = { readonly [K in keyof typeof deployOptions]?: DeployFlagValue<K> };
type DeployFlagValue<K extends keyof typeof deployOptions> = (typeof deployOptions)[K] extends {
  type: 'boolean';
}
  ? boolean
  : (typeof deployOptions)[K] extends { multiple: true }
    ? string[]
    : string;

export type JsonObject = { [key: string]: unknown };

export interface DeployBody {
  /** The service name, needed to wait for it. */
  readonly name: string;
  readonly body: JsonObject;
}

export function buildDeployBody(flags: DeployFlags, file: JsonObject = {}): DeployBody {
  const body: JsonObject = { ...file };
  if (flags.name !== undefined) body.name = flags.name;
  if (flags.image !== undefined) body.image = flags.image;
  if (flags.replicas !== undefined) body.replicas = parseIntegerFlag('--replicas', flags.replicas, 0, 1000);
  if (flags.port !== undefined) body.ports = flags.port.map((port) => parsePortFlag('--port', port));
  if (flags.command !== undefined) body.command = parseCommandFlag('--command', flags.command);
  if (flags['stop-grace-period'] !== undefined) {
    body.stop_grace_period = parseDurationFlag('--stop-grace-period', flags['stop-grace-period']);
  }
  // Privileges, namespaces, secrets and configs replace the file's field of the same name.
  Object.assign(body, privilegeFields(flags));
  const volumes = volumeFields(flags);
  if (volumes !== undefined) body.volumes = volumes;
  mergeInto(body, 'resources', resourceOverrides(flags));
  mergeInto(body, 'env', keyValues('--env', flags.env));
  mergeInto(body, 'labels', keyValues('--label', flags.label));
  const placement: JsonObject = {};
  if (flags.constraint !== undefined) placement.constraints = flags.constraint;
  if (flags['replicas-max-per-node'] !== undefined)
    placement.max_replicas_per_node = parseIntegerFlag(
      '--replicas-max-per-node',
      flags['replicas-max-per-node'],
      1,
      1000,
    );
  if (flags.placement !== undefined) {
    placement.strategy = parseChoiceFlag('--placement', flags.placement, ['binpack', 'spread']);
  }
  mergeInto(body, 'placement', placement);
  if (flags.restart !== undefined) {
    const condition = parseChoiceFlag('--restart', flags.restart, ['always', 'on-failure', 'never']);
    mergeInto(body, 'restart_policy', { condition });
  }
  const health = healthOverrides(flags);
  mergeInto(body, 'health_check', health);
  // Without a type the server would only say "type: required"; the flag is what the user missed.
  if (Object.keys(health).length > 0 && isObject(body.health_check) && body.health_check.type === undefined) {
    throw new UsageError('--health-* flags need --health-type (http, tcp or exec)');
  }
  if (typeof body.name !== 'string') throw new UsageError('--name is required (or "name" in --file)');
  if (body.image === undefined) throw new UsageError('--image is required (or "image" in --file)');
  return { name: body.name, body };
}

function resourceOverrides(flags: DeployFlags): JsonObject {
  const resources: JsonObject = {};
  if (flags.cpus !== undefined) resources.cpus = parsePositiveNumberFlag('--cpus', flags.cpus);
  if (flags['cpu-shares'] !== undefined) {
    resources.cpu_shares = parseIntegerFlag('--cpu-shares', flags['cpu-shares'], 2, 262144);
  }
  if (flags.memory !== undefined) resources.memory_mb = parseMemoryMb('--memory', flags.memory);
  return resources;
}

function healthOverrides(flags: DeployFlags): JsonObject {
  const check: JsonObject = {};
  const type = flags['health-type'];
  if (type !== undefined) check.type = parseChoiceFlag('--health-type', type, ['http', 'tcp', 'exec']);
  if (flags['health-endpoint'] !== undefined) check.endpoint = flags['health-endpoint'];
  if (flags['health-path'] !== undefined) check.path = flags['health-path'];
  if (flags['health-port'] !== undefined) {
    check.port = parseIntegerFlag('--health-port', flags['health-port'], 1, 65535);
  }
  if (flags['health-command'] !== undefined) {
    check.command = parseCommandFlag('--health-command', flags['health-command']);
  }
  if (flags['health-retries'] !== undefined) {
    check.retries = parseIntegerFlag('--health-retries', flags['health-retries'], 1, 100);
  }
  const durations = [
    ['interval', 'health-interval'],
    ['timeout', 'health-timeout'],
    ['start_period', 'health-start-period'],
  ] as const;
  for (const [field, flag] of durations) {
    const value = flags[flag];
    if (value !== undefined) check[field] = parseDurationFlag(`--${flag}`, value);
  }
  return check;
}

function parseCommandFlag(flag: string, value: string): string[] {
  let words: string[];
  try {
    words = splitShellWords(value);
  } catch (error) {
    if (error instanceof ShellSyntaxError) throw new UsageError(`${flag}: ${error.message}`);
    throw error;
  }
  if (words.length === 0) throw new UsageError(`${flag} must not be empty`);
  return words;
}

function keyValues(flag: string, values: readonly string[] | undefined): JsonObject {
  return Object.fromEntries((values ?? []).map((value) => parseKeyValueFlag(flag, value)));
}

/** Sets body[field] to the file's object with `overrides` on top; leaves it alone when none. */
function mergeInto(body: JsonObject, field: string, overrides: JsonObject): void {
  if (Object.keys(overrides).length === 0) return;
  const base = body[field];
  body[field] = isObject(base) ? { ...base, ...overrides } : overrides;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
