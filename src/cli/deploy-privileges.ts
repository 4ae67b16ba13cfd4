/**
 * The `skiff deploy` flags for a container's privileges, namespaces, secrets and configs, spelled
 * as `docker run` and `docker service create` spell them (`--cap-add`, `--security-opt
 * seccomp=unconfined`, `--secret NAME` or `--secret source=NAME,target=T,mode=0400`), turned into
 * the spec's fields. Pure; the server still validates the result and the admission policy still
 * decides whether it may run.
 */
import { UsageError } from './errors.ts';
import { parseChoiceFlag, parseKeyValueFlag } from './flag-values.ts';

export const privilegeOptions = {
  privileged: { type: 'boolean' },
  'cap-add': { type: 'string', multiple: true },
  'cap-drop': { type: 'string', multiple: true },
  user: { type: 'string', short: 'u' },
  'read-only': { type: 'boolean' },
  init: { type: 'boolean' },
  'stop-signal': { type: 'string' },
  pull: { type: 'string' },
  network: { type: 'string', multiple: true },
  'network-mode': { type: 'string' },
  pid: { type: 'string' },
  ipc: { type: 'string' },
  uts: { type: 'string' },
  userns: { type: 'string' },
  device: { type: 'string', multiple: true },
  sysctl: { type: 'string', multiple: true },
  'security-opt': { type: 'string', multiple: true },
  secret: { type: 'string', multiple: true },
  config: { type: 'string', multiple: true },
} as const;

export type PrivilegeFlags = {
  readonly [K in keyof typeof privilegeOptions]?: (typeof privilegeOptions)[K] extends { type: 'boolean' }
    ? boolean
    : (typeof privilegeOptions)[K] extends { multiple: true }
      ? string[]
      : string;
};

type JsonObject = { [key: string]: unknown };

/** The spec fields these flags set (only those given), to lay over the `--file` body. */
export function privilegeFields(flags: PrivilegeFlags): JsonObject {
  const fields: JsonObject = {};
  if (flags.privileged) fields.privileged = true;
  if (flags['read-only']) fields.read_only = true;
  if (flags.init) fields.init = true;
  if (flags.pull !== undefined) fields.pull = parseChoiceFlag('--pull', flags.pull, ['always', 'missing']);
  if (flags.user !== undefined) fields.user = flags.user;
  if (flags['stop-signal'] !== undefined) fields.stop_signal = signalName(flags['stop-signal']);
  if (flags['cap-add'] !== undefined) fields.cap_add = flags['cap-add'].map(capabilityName);
  if (flags['cap-drop'] !== undefined) fields.cap_drop = flags['cap-drop'].map(capabilityName);
  if (flags.network !== undefined) {
    if (flags.network.includes('host')) {
      throw new UsageError('--network names Skiff networks; for the host network use --network-mode host');
    }
    fields.networks = flags.network;
  }
  const namespaces = [
    ['network-mode', 'network_mode'],
    ['pid', 'pid_mode'],
    ['ipc', 'ipc_mode'],
    ['uts', 'uts_mode'],
    ['userns', 'userns_mode'],
  ] as const;
  for (const [flag, field] of namespaces) {
    const value = flags[flag];
    if (value !== undefined) fields[field] = parseChoiceFlag(`--${flag}`, value, ['host']);
  }
  if (flags.device !== undefined) fields.devices = flags.device;
  if (flags.sysctl !== undefined) {
    fields.sysctls = Object.fromEntries(flags.sysctl.map((v) => parseKeyValueFlag('--sysctl', v)));
  }
  for (const option of flags['security-opt'] ?? []) {
    const [key, value] = parseKeyValueFlag('--security-opt', option);
    if (key !== 'seccomp' && key !== 'apparmor') {
      throw new UsageError(`--security-opt: only seccomp=… and apparmor=… are supported, got ${key}`);
    }
    fields[key] = parseChoiceFlag(`--security-opt ${key}`, value, ['default', 'unconfined']);
  }
  if (flags.secret !== undefined) fields.secrets = flags.secret.map((v) => fileReference('--secret', v));
  if (flags.config !== undefined) fields.configs = flags.config.map((v) => fileReference('--config', v));
  return fields;
}

/** Docker accepts `net_admin` and `CAP_NET_ADMIN`; the spec holds `NET_ADMIN`. */
function capabilityName(value: string): string {
  return value.toUpperCase().replace(/^CAP_/, '');
}

function signalName(value: string): string {
  const upper = value.toUpperCase();
  return upper.startsWith('SIG') ? upper : `SIG${upper}`;
}

/**
 * `NAME`, `NAME:TARGET`, or Docker's long form `source=NAME[,target=PATH][,mode=0400]`
 * (`src=` too, as Docker accepts).
 */
export function fileReference(flag: string, value: string): JsonObject {
  if (value.includes('=')) {
    const ref: JsonObject = {};
    for (const part of value.split(',')) {
      const [key, field] = parseKeyValueFlag(flag, part);
      if (key === 'source' || key === 'src') ref.name = field;
      else if (key === 'target') ref.target = field;
      else if (key === 'mode') {
        if (!/^0?[0-7]{3}$/.test(field))
          throw new UsageError(`${flag}: mode must be octal like 0400, got ${field}`);
        ref.mode = Number.parseInt(field, 8);
      } else throw new UsageError(`${flag}: unknown key ${key} (source, target or mode)`);
    }
    if (ref.name === undefined) throw new UsageError(`${flag}: source=NAME is required in ${value}`);
    return ref;
  }
  const colon = value.indexOf(':');
  if (colon === 0 || value === '') throw new UsageError(`${flag} needs NAME[:TARGET], got ${value}`);
  if (colon < 0) return { name: value };
  const target = value.slice(colon + 1);
  if (target === '') throw new UsageError(`${flag} needs NAME[:TARGET], got ${value}`);
  return { name: value.slice(0, colon), target };
}
