/**
 * A merged Compose model → the Skiff service specs of one stack, what `docker stack deploy`
 * supports translated key by key. Keys Swarm ignores are ignored with one warning each; keys that
 * cannot work, unknown keys and invalid values are errors naming file, line and key; every spec is
 * checked against Skiff's own schema, so a file that translates deploys whole or not at all.
 * Pure: env_file contents and the environment come in as values.
 *
 * Names: service `web` of stack `shop` is the Skiff service `shop-web`, which also answers to `web`
 * on the stack's networks (an alias). The stack's networks are `shop-NAME` (`shop-default` for
 * services that name none); external ones keep their own name. Secrets and configs defined by
 * the stack are created as `shop-NAME` and mounted where Compose puts them (`/run/secrets/NAME`,
 * `/NAME`).
 */
import { splitShellWords } from '../cli/shell-words.ts';
import { autoscalePolicySchema } from '../model/autoscale-policy.ts';
import { parseDurationMs } from '../model/duration.ts';
import { SERVICE_NAME_PATTERN } from '../model/names.ts';
import { type ServiceSpecInput, serviceSpecSchema } from '../model/service-spec.ts';
import { STACK_LABEL, STACK_SERVICE_LABEL } from '../model/stack.ts';
import { ComposeError } from './compose-error.ts';
import { pathText } from './compose-file.ts';
import {
  composeDuration,
  composeMegabytes,
  composePorts,
  healthcheckCommand,
  placementConstraint,
  tmpfsEntry,
  ulimitEntry,
  ValueProblem,
} from './compose-values.ts';
import type { Environment } from './interpolate.ts';
import { asKeyed, isPlainObject, type MergedCompose } from './merge.ts';

export interface StackObject {
  readonly kind: 'secret' | 'config';
  /** The Skiff name (`shop-db_password`). */
  readonly name: string;
  /** Where the value comes from: a file (resolved against the Compose file's directory), or inline. */
  readonly source: { file: string } | { value: string };
}

export interface StackPlan {
  readonly stack: string;
  readonly services: ServiceSpecInput[];
  /** Secrets and configs the stack defines, to create (or update) before its services deploy. */
  readonly objects: StackObject[];
  readonly warnings: string[];
}

export interface TranslateOptions {
  readonly stack: string;
  /** For `environment: [VAR]` entries without a value, as `docker stack deploy` reads them. */
  readonly env: Environment;
  /** The contents of each env_file, by the path as written (the loader reads them). */
  readonly envFiles: ReadonlyMap<string, string>;
}

/** Keys `docker stack deploy` ignores: each costs one warning, nothing else. */
const IGNORED_SERVICE_KEYS = new Set([
  'build',
  'cgroup_parent',
  'container_name',
  'cpu_count',
  'cpu_percent',
  'cpu_shares',
  'cpus',
  'cpuset',
  'depends_on',
  'devices',
  'domainname',
  'external_links',
  'hostname',
  'ipc',
  'links',
  'logging',
  'mac_address',
  'mem_limit',
  'mem_reservation',
  'memswap_limit',
  'network_mode',
  'oom_kill_disable',
  'oom_score_adj',
  'pid',
  'platform',
  'privileged',
  'profiles',
  'pull_policy',
  'restart',
  'security_opt',
  'shm_size',
  'stdin_open',
  'tty',
  'userns_mode',
]);

const SERVICE_KEYS = new Set([
  'image',
  'command',
  'entrypoint',
  'environment',
  'env_file',
  'ports',
  'expose',
  'networks',
  'volumes',
  'secrets',
  'configs',
  'healthcheck',
  'labels',
  'user',
  'working_dir',
  'stop_grace_period',
  'stop_signal',
  'init',
  'extra_hosts',
  'dns',
  'dns_search',
  'ulimits',
  'tmpfs',
  'deploy',
  'cap_add',
  'cap_drop',
  'read_only',
  'sysctls',
]);

const TOP_LEVEL_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs']);

export function translateCompose(merged: MergedCompose, options: TranslateOptions): StackPlan {
  const { stack } = options;
  const origin = (path: readonly (string | number)[]) => {
    for (let length = path.length; length > 0; length--) {
      const found = merged.origins.get(pathText(path.slice(0, length)));
      if (found) return found;
    }
    const first = merged.origins.values().next().value;
    return { file: first?.file ?? 'compose.yml', line: 1 };
  };
  const fail = (path: readonly (string | number)[], reason: string): never => {
    const at = origin(path);
    throw new ComposeError(at.file, at.line, pathText(path), reason);
  };
  const warnings: string[] = [];
  const warn = (path: readonly (string | number)[], reason: string) => {
    const at = origin(path);
    warnings.push(`${at.file}:${at.line}: ${pathText(path)}: ${reason}`);
  };
  /** Runs a value reader at `path`, turning its ValueProblem into an error there. */
  const read = <T>(path: readonly (string | number)[], reader: () => T): T => {
    try {
      return reader();
    } catch (error) {
      if (error instanceof ValueProblem) fail(path, error.message);
      throw error;
    }
  };

  if (!SERVICE_NAME_PATTERN.test(stack))
    throw new ComposeError(
      '(stack name)',
      1,
      undefined,
      `"${stack}" must be lowercase letters, digits and dashes`,
    );
  const model = merged.value;
  for (const key of Object.keys(model)) {
    if (key.startsWith('x-')) continue;
    if (!TOP_LEVEL_KEYS.has(key)) fail([key], 'not a Compose top-level key');
    if (key === 'version') warn([key], 'ignored: the Compose Specification no longer uses it');
  }
  const services = model.services;
  if (!isPlainObject(services) || Object.keys(services).length === 0)
    fail(['services'], 'a stack needs at least one service');

  const networks = readNetworks(model.networks, stack, fail, warn);
  const objects: StackObject[] = [];
  const objectNames = {
    secret: readObjects('secrets', model.secrets, stack, options.env, fail, objects),
    config: readObjects('configs', model.configs, stack, options.env, fail, objects),
  };
  const volumes = isPlainObject(model.volumes) ? model.volumes : {};

  const specs: ServiceSpecInput[] = [];
  for (const [name, raw] of Object.entries(services as Record<string, unknown>)) {
    const path = ['services', name];
    if (!isPlainObject(raw)) fail(path, 'a service must be a mapping');
    const service = raw as Record<string, unknown>;
    const fullName = `${stack}-${name}`;
    if (!SERVICE_NAME_PATTERN.test(name) || !SERVICE_NAME_PATTERN.test(fullName))
      fail(
        path,
        `"${name}" must be lowercase letters, digits and dashes, and "${fullName}" at most 63 characters`,
      );
    for (const key of Object.keys(service)) {
      if (key.startsWith('x-')) continue;
      if (IGNORED_SERVICE_KEYS.has(key)) warn([...path, key], 'ignored, as docker stack deploy ignores it');
      else if (!SERVICE_KEYS.has(key)) fail([...path, key], 'not a Compose service key');
    }
    if (typeof service.image !== 'string' || service.image === '')
      fail(
        [...path, service.build === undefined ? 'image' : 'build'],
        'a stack runs images: give the service an image (build it and push it first)',
      );
    const spec: Record<string, unknown> = { name: fullName, image: service.image };
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(asKeyed(service.labels))) labels[key] = String(value ?? '');

    const words = (key: string): string[] | undefined => {
      const value = service[key];
      if (value === undefined || value === null) return undefined;
      if (Array.isArray(value)) return value.map(String);
      return read([...path, key], () => {
        try {
          return splitShellWords(String(value));
        } catch (error) {
          throw new ValueProblem((error as Error).message);
        }
      });
    };
    const command = words('command');
    if (command !== undefined && command.length > 0) spec.command = command;
    const entrypoint = words('entrypoint');
    if (entrypoint !== undefined) spec.entrypoint = entrypoint;

    const env: Record<string, string> = {};
    for (const [index, file] of listOf(service.env_file).entries()) {
      const filePath = isPlainObject(file) ? String(file.path) : String(file);
      const text = options.envFiles.get(filePath);
      if (text === undefined) {
        if (isPlainObject(file) && file.required === false) continue;
        fail([...path, 'env_file', index], `cannot read ${filePath}`);
      }
      for (const line of (text as string).split(/\r?\n/)) {
        const trimmed = line.trim();
        if (trimmed === '' || trimmed.startsWith('#')) continue;
        const at = trimmed.indexOf('=');
        if (at === -1) {
          const fromEnv = options.env[trimmed];
          if (fromEnv !== undefined) env[trimmed] = fromEnv;
        } else env[trimmed.slice(0, at)] = trimmed.slice(at + 1);
      }
    }
    for (const [key, value] of Object.entries(asKeyed(service.environment))) {
      if (value === null || value === undefined) {
        const fromEnv = options.env[key];
        if (fromEnv !== undefined) env[key] = fromEnv;
      } else env[key] = String(value);
    }
    if (Object.keys(env).length > 0) spec.env = env;

    const ports = listOf(service.ports).flatMap((entry, index) =>
      read([...path, 'ports', index], () => composePorts(entry)),
    );
    for (const [index, entry] of listOf(service.expose).entries()) {
      const exposed = read([...path, 'expose', index], () => composePorts(String(entry)));
      for (const port of exposed)
        if (!ports.some((p) => p.container_port === port.container_port && p.protocol === port.protocol))
          ports.push(port);
    }
    if (ports.length > 0) spec.ports = ports;

    const serviceNetworks = readServiceNetworks(
      service.networks,
      [...path, 'networks'],
      networks,
      stack,
      fail,
    );
    spec.networks = serviceNetworks.names;
    spec.aliases = [...new Set([name, ...serviceNetworks.aliases])].filter((alias) => alias !== fullName);

    const tmpfs: { target: string; size_mb?: number; mode?: string }[] = [];
    for (const [index, entry] of listOf(service.tmpfs).entries()) {
      const { ignored, ...mount } = read([...path, 'tmpfs', index], () => tmpfsEntry(entry));
      if (ignored.length > 0) warn([...path, 'tmpfs', index], `options ignored: ${ignored.join(', ')}`);
      tmpfs.push(mount);
    }
    const mounts: Record<string, unknown>[] = [];
    for (const [index, entry] of listOf(service.volumes).entries()) {
      const at = [...path, 'volumes', index];
      const volume = isPlainObject(entry) ? entry : shortVolume(String(entry));
      const readOnly = volume.read_only === true ? { read_only: true } : {};
      const target = String(volume.target ?? '');
      for (const key of ['consistency', 'volume', 'bind'])
        if (volume[key] !== undefined) warn([...at, key], 'ignored (volumes are local Docker volumes)');
      if (volume.type === 'tmpfs') {
        const size = isPlainObject(volume.tmpfs) ? volume.tmpfs.size : undefined;
        const mode = isPlainObject(volume.tmpfs) ? volume.tmpfs.mode : undefined;
        mounts.push({
          type: 'tmpfs',
          target,
          ...readOnly,
          ...(size === undefined ? {} : { size_mb: read(at, () => composeMegabytes(size)) }),
          ...(mode === undefined ? {} : { mode: typeof mode === 'number' ? mode.toString(8) : String(mode) }),
        });
      } else if (volume.source === undefined || volume.source === '') {
        warn(at, `anonymous volume ${target}: its data lives and dies with each container`);
        mounts.push({ type: 'volume', target, ...readOnly });
      } else if (
        volume.type === 'bind' ||
        String(volume.source).startsWith('/') ||
        String(volume.source).startsWith('.') ||
        String(volume.source).startsWith('~')
      ) {
        const source = String(volume.source);
        if (!source.startsWith('/'))
          fail(
            at,
            `bind source ${source} is relative to this machine, not to the node a replica runs on: give an absolute host path`,
          );
        mounts.push({ type: 'bind', source, target, ...readOnly });
      } else {
        const key = String(volume.source);
        if (!(key in volumes)) fail(at, `volume "${key}" is not declared under volumes`);
        const declared = volumes[key];
        const top = isPlainObject(declared) ? declared : {};
        if (top.driver !== undefined && top.driver !== 'local')
          fail(['volumes', key, 'driver'], 'volumes are local to a node: only the local driver is supported');
        if (top.driver_opts !== undefined)
          fail(
            ['volumes', key, 'driver_opts'],
            'volumes are local Docker volumes: driver options are not supported',
          );
        if (top.labels !== undefined)
          warn(['volumes', key, 'labels'], 'ignored: Skiff labels its volumes itself');
        // As `docker stack deploy`: STACK_NAME unless the file names it (`name:`, templates allowed) or it is external.
        const name =
          typeof top.name === 'string' ? top.name : top.external === true ? key : `${stack}_${key}`;
        mounts.push({ type: 'volume', source: name, target, ...readOnly });
      }
    }
    if (mounts.length > 0) spec.volumes = mounts;
    if (tmpfs.length > 0) spec.tmpfs = tmpfs;

    for (const kind of ['secret', 'config'] as const) {
      const key = `${kind}s`;
      const refs = listOf(service[key]).map((entry, index) => {
        const at = [...path, key, index];
        const ref = isPlainObject(entry) ? entry : { source: String(entry) };
        const source = String(ref.source ?? '');
        const skiffName = objectNames[kind].get(source);
        if (skiffName === undefined) fail(at, `${kind} "${source}" is not declared under ${key}`);
        if (ref.uid !== undefined || ref.gid !== undefined)
          warn(at, 'uid and gid ignored: files belong to root');
        const target =
          ref.target === undefined ? (kind === 'secret' ? source : `/${source}`) : String(ref.target);
        return {
          name: skiffName as string,
          target,
          ...(ref.mode === undefined ? {} : { mode: ref.mode }),
        };
      });
      if (refs.length > 0) spec[key] = refs;
    }

    if (service.healthcheck !== undefined) {
      const check = service.healthcheck;
      const at = [...path, 'healthcheck'];
      if (!isPlainObject(check)) fail(at, 'must be a mapping');
      const hc = check as Record<string, unknown>;
      const commandLine =
        hc.disable === true ? undefined : read([...at, 'test'], () => healthcheckCommand(hc.test));
      if (commandLine !== undefined)
        spec.health_check = {
          type: 'exec',
          command: commandLine,
          interval: read([...at, 'interval'], () => composeDuration(hc.interval ?? '30s')),
          timeout: read([...at, 'timeout'], () => composeDuration(hc.timeout ?? '30s')),
          retries: hc.retries ?? 3,
          start_period: read([...at, 'start_period'], () => composeDuration(hc.start_period ?? '0s')),
        };
    }

    if (service.user !== undefined) spec.user = String(service.user);
    if (service.working_dir !== undefined) spec.working_dir = service.working_dir;
    if (service.stop_grace_period !== undefined)
      spec.stop_grace_period = read([...path, 'stop_grace_period'], () =>
        composeDuration(service.stop_grace_period),
      );
    if (service.stop_signal !== undefined) spec.stop_signal = service.stop_signal;
    if (service.init !== undefined) spec.init = service.init;
    if (service.read_only !== undefined) spec.read_only = service.read_only;
    if (service.cap_add !== undefined) spec.cap_add = service.cap_add;
    if (service.cap_drop !== undefined) spec.cap_drop = service.cap_drop;
    if (service.sysctls !== undefined)
      spec.sysctls = Object.fromEntries(
        Object.entries(asKeyed(service.sysctls)).map(([k, v]) => [k, String(v)]),
      );
    if (service.extra_hosts !== undefined) {
      spec.extra_hosts = isPlainObject(service.extra_hosts)
        ? Object.entries(service.extra_hosts).map(([host, ip]) => `${host}:${String(ip)}`)
        : listOf(service.extra_hosts).map((entry) => String(entry).replace('=', ':'));
    }
    if (service.ulimits !== undefined) {
      if (!isPlainObject(service.ulimits)) fail([...path, 'ulimits'], 'must be a mapping');
      spec.ulimits = Object.fromEntries(
        Object.entries(service.ulimits as Record<string, unknown>).map(([limit, value]) => [
          limit,
          read([...path, 'ulimits', limit], () => ulimitEntry(value)),
        ]),
      );
    }
    for (const key of ['dns', 'dns_search'])
      if (service[key] !== undefined)
        warn(
          [...path, key],
          "ignored: replicas resolve through Skiff's DNS, which answers service names and forwards the rest to the host's resolvers",
        );

    if (service.deploy !== undefined)
      readDeploy(service.deploy, [...path, 'deploy'], spec, labels, { fail, warn, read });
    const autoscale = readAutoscale(service, path, fail);
    if (autoscale !== undefined) spec.autoscale = autoscale;
    spec.labels = { ...labels, [STACK_LABEL]: stack, [STACK_SERVICE_LABEL]: name };

    const checked = serviceSpecSchema.safeParse(spec);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      fail(path, `${issue?.path.join('.') || 'spec'}: ${issue?.message ?? 'invalid'}`);
    }
    specs.push(spec as ServiceSpecInput);
  }
  return { stack, services: specs, objects, warnings };
}

type Fail = (path: readonly (string | number)[], reason: string) => never;
type Warn = (path: readonly (string | number)[], reason: string) => void;

function listOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** `SOURCE:TARGET[:MODE]`, `TARGET` alone (anonymous). */
function shortVolume(text: string): Record<string, unknown> {
  const [first = '', second, mode] = text.split(':');
  return second === undefined
    ? { target: first }
    : { source: first, target: second, read_only: mode === 'ro' };
}

interface StackNetwork {
  readonly skiffName: string;
}

function readNetworks(value: unknown, stack: string, fail: Fail, warn: Warn): Map<string, StackNetwork> {
  const out = new Map<string, StackNetwork>([['default', { skiffName: `${stack}-default` }]]);
  if (value === undefined || value === null) return out;
  if (!isPlainObject(value)) fail(['networks'], 'must be a mapping');
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const definition = isPlainObject(raw) ? raw : {};
    const external = definition.external === true || isPlainObject(definition.external);
    const skiffName = external ? String(definition.name ?? name) : `${stack}-${name}`;
    if (!SERVICE_NAME_PATTERN.test(skiffName))
      fail(
        ['networks', name],
        `"${skiffName}" must be lowercase letters, digits and dashes (a Skiff network name)`,
      );
    for (const key of Object.keys(definition))
      if (!['external', 'name', 'driver', 'attachable', 'labels'].includes(key))
        warn(['networks', name, key], 'ignored: Skiff networks are its own bridges on every node');
    out.set(name, { skiffName });
  }
  return out;
}

function readServiceNetworks(
  value: unknown,
  path: (string | number)[],
  networks: ReadonlyMap<string, StackNetwork>,
  stack: string,
  fail: Fail,
): { names: string[]; aliases: string[] } {
  const names: string[] = [];
  const aliases: string[] = [];
  const entries: [string, unknown][] =
    value === undefined || value === null
      ? [['default', null]]
      : Array.isArray(value)
        ? value.map((name) => [String(name), null])
        : isPlainObject(value)
          ? Object.entries(value)
          : fail(path, 'must be a list or a mapping');
  for (const [name, options] of entries) {
    const network = networks.get(name);
    if (!network) fail([...path, name], `network "${name}" is not declared under networks`);
    names.push((network as StackNetwork).skiffName);
    if (isPlainObject(options)) for (const alias of listOf(options.aliases)) aliases.push(String(alias));
  }
  if (names.length === 0) names.push(`${stack}-default`);
  return { names, aliases };
}

function readObjects(
  key: 'secrets' | 'configs',
  value: unknown,
  stack: string,
  env: Environment,
  fail: Fail,
  objects: StackObject[],
): Map<string, string> {
  const names = new Map<string, string>();
  if (value === undefined || value === null) return names;
  if (!isPlainObject(value)) fail([key], 'must be a mapping');
  const kind = key === 'secrets' ? 'secret' : 'config';
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const definition = isPlainObject(raw) ? raw : {};
    const path = [key, name];
    if (definition.external === true || isPlainObject(definition.external)) {
      names.set(name, String(definition.name ?? name));
      continue;
    }
    const skiffName = `${stack}-${name}`;
    names.set(name, skiffName);
    if (typeof definition.file === 'string')
      objects.push({ kind, name: skiffName, source: { file: definition.file } });
    else if (typeof definition.environment === 'string') {
      const fromEnv = env[definition.environment];
      if (fromEnv === undefined)
        fail([...path, 'environment'], `variable ${definition.environment} is not set`);
      objects.push({ kind, name: skiffName, source: { value: fromEnv as string } });
    } else if (kind === 'config' && typeof definition.content === 'string')
      objects.push({ kind, name: skiffName, source: { value: definition.content } });
    else fail(path, `a ${kind} needs file${kind === 'config' ? ', content' : ''}, environment or external`);
  }
  return names;
}

function readDeploy(
  value: unknown,
  path: (string | number)[],
  spec: Record<string, unknown>,
  labels: Record<string, string>,
  {
    fail,
    warn,
    read,
  }: { fail: Fail; warn: Warn; read: <T>(path: readonly (string | number)[], reader: () => T) => T },
): void {
  if (!isPlainObject(value)) fail(path, 'must be a mapping');
  const deploy = value as Record<string, unknown>;
  const known = [
    'mode',
    'replicas',
    'resources',
    'restart_policy',
    'update_config',
    'rollback_config',
    'placement',
    'endpoint_mode',
    'labels',
  ];
  for (const key of Object.keys(deploy))
    if (!known.includes(key) && !key.startsWith('x-')) fail([...path, key], 'not a Compose deploy key');
  if (deploy.mode !== undefined && deploy.mode !== 'replicated' && deploy.mode !== 'global')
    fail([...path, 'mode'], `"${String(deploy.mode)}" is not replicated or global`);
  if (deploy.mode === 'global') {
    spec.mode = 'global';
    if (deploy.replicas !== undefined)
      warn([...path, 'replicas'], 'ignored: a global service runs one replica per node');
  } else if (deploy.replicas !== undefined) spec.replicas = deploy.replicas;
  for (const [key, label] of Object.entries(asKeyed(deploy.labels))) labels[key] = String(label ?? '');
  if (deploy.endpoint_mode === 'dnsrr')
    warn([...path, 'endpoint_mode'], 'ignored: Skiff always gives a service a virtual IP (vip)');

  if (isPlainObject(deploy.resources)) {
    const at = [...path, 'resources'];
    const limits = isPlainObject(deploy.resources.limits) ? deploy.resources.limits : {};
    const reservations = isPlainObject(deploy.resources.reservations) ? deploy.resources.reservations : {};
    for (const key of ['devices', 'generic_resources'])
      if (reservations[key] !== undefined)
        fail([...at, 'reservations', key], 'Skiff does not place by devices');
    if (limits.pids !== undefined) warn([...at, 'limits', 'pids'], 'ignored');
    const resources: Record<string, unknown> = {};
    const cpus = limits.cpus ?? reservations.cpus;
    if (cpus !== undefined) resources.cpus = Number(cpus);
    const memory = limits.memory ?? reservations.memory;
    if (memory !== undefined)
      resources.memory_mb = read([...at, 'limits', 'memory'], () => composeMegabytes(memory));
    if (
      (limits.cpus !== undefined &&
        reservations.cpus !== undefined &&
        Number(limits.cpus) !== Number(reservations.cpus)) ||
      (limits.memory !== undefined &&
        reservations.memory !== undefined &&
        limits.memory !== reservations.memory)
    )
      warn([...at, 'reservations'], 'Skiff reserves what it limits: the limits are used for both');
    if (Object.keys(resources).length > 0) spec.resources = resources;
  }

  if (isPlainObject(deploy.restart_policy)) {
    const policy = deploy.restart_policy;
    const at = [...path, 'restart_policy'];
    const condition = { none: 'never', 'on-failure': 'on-failure', any: 'always' }[
      String(policy.condition ?? 'any')
    ];
    if (condition === undefined) fail([...at, 'condition'], 'must be none, on-failure or any');
    const restart: Record<string, unknown> = { condition };
    if (policy.delay !== undefined)
      restart.delay = read([...at, 'delay'], () => composeDuration(policy.delay));
    if (policy.max_attempts !== undefined && policy.max_attempts !== 0)
      restart.max_attempts = policy.max_attempts;
    if (policy.window !== undefined) warn([...at, 'window'], 'ignored: every failed start counts');
    spec.restart_policy = restart;
  }

  if (isPlainObject(deploy.update_config)) {
    const config = deploy.update_config;
    const at = [...path, 'update_config'];
    const order = config.order ?? 'start-first';
    if (order !== 'start-first' && order !== 'stop-first')
      fail([...at, 'order'], 'must be start-first or stop-first');
    const parallelism = Number(config.parallelism ?? 1);
    if (!Number.isInteger(parallelism) || parallelism < 0)
      fail([...at, 'parallelism'], 'must be a whole number');
    const batch = parallelism === 0 ? Math.max(1, Number(spec.replicas ?? 1)) : parallelism;
    const update: Record<string, unknown> =
      order === 'start-first'
        ? { max_surge: batch, max_unavailable: 0 }
        : { max_surge: 0, max_unavailable: batch };
    const waits = [config.delay, config.monitor]
      .filter((d) => d !== undefined)
      .map((d, i) =>
        read([...at, i === 0 && config.delay !== undefined ? 'delay' : 'monitor'], () => composeDuration(d)),
      );
    if (waits.length > 0)
      update.min_healthy_time = waits.sort((a, b) => durationOrder(b) - durationOrder(a))[0];
    if (config.failure_action !== undefined) {
      if (!['rollback', 'pause', 'continue'].includes(String(config.failure_action)))
        fail([...at, 'failure_action'], 'must be rollback, pause or continue');
      update.auto_rollback = config.failure_action === 'rollback';
      if (config.failure_action === 'continue')
        warn([...at, 'failure_action'], 'Skiff stops a failing rollout (as pause) rather than continuing it');
    }
    if (config.max_failure_ratio !== undefined)
      warn([...at, 'max_failure_ratio'], 'ignored: one replica that fails its deadline fails the rollout');
    spec.update = update;
  }
  if (deploy.rollback_config !== undefined)
    warn([...path, 'rollback_config'], 'ignored: Skiff rolls back at the pace of update_config');

  if (isPlainObject(deploy.placement)) {
    const placement = deploy.placement;
    const at = [...path, 'placement'];
    const out: Record<string, unknown> = {};
    const constraints = listOf(placement.constraints).map((c, i) =>
      read([...at, 'constraints', i], () => placementConstraint(String(c))),
    );
    if (constraints.length > 0) out.constraints = constraints;
    if (listOf(placement.preferences).length > 0) {
      out.strategy = 'spread';
      warn([...at, 'preferences'], 'replicas are spread over nodes evenly, not by the label given');
    }
    if (placement.max_replicas_per_node !== undefined) {
      const max = placement.max_replicas_per_node;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1)
        fail([...at, 'max_replicas_per_node'], 'must be a whole number, at least 1');
      out.max_replicas_per_node = max;
    }
    if (Object.keys(out).length > 0) spec.placement = out;
  }
}

/**
 * `x-skiff-autoscale` on the service or `x-autoscale` under its `deploy` (extension keys, so
 * `docker stack deploy` reads the same file): Skiff's `autoscale` block, checked here so an error
 * names its own line.
 */
function readAutoscale(
  service: Record<string, unknown>,
  path: readonly (string | number)[],
  fail: Fail,
): unknown {
  const deploy = isPlainObject(service.deploy) ? service.deploy : {};
  const atService = service['x-skiff-autoscale'];
  const atDeploy = deploy['x-autoscale'];
  if (atService !== undefined && atDeploy !== undefined)
    fail([...path, 'deploy', 'x-autoscale'], 'give x-skiff-autoscale or deploy.x-autoscale, not both');
  const at = atService !== undefined ? [...path, 'x-skiff-autoscale'] : [...path, 'deploy', 'x-autoscale'];
  const value = atService ?? atDeploy;
  if (value === undefined) return undefined;
  const checked = autoscalePolicySchema.safeParse(value);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    fail(
      [...at, ...(issue?.path ?? []).map((p) => (typeof p === 'symbol' ? String(p) : p))],
      issue?.message ?? 'invalid',
    );
  }
  return value;
}

function durationOrder(text: string): number {
  return parseDurationMs(text) ?? 0;
}

/** Key paths of every env_file a merged model names, for the loader to read. */
export function envFilesOf(merged: MergedCompose): string[] {
  const services = isPlainObject(merged.value.services) ? merged.value.services : {};
  return Object.values(services).flatMap((service) =>
    isPlainObject(service)
      ? listOf(service.env_file).map((f) => (isPlainObject(f) ? String(f.path) : String(f)))
      : [],
  );
}
