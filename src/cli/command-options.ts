/**
 * Every command's flags, as `node:util` parseArgs configs, in one table keyed like the command
 * table in usage.ts. Kept apart from the commands (which import servers, agents and clients) so
 * the help test can check each command's usage against its flags without loading any of that.
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { formatDurationMs } from '../model/duration.ts';
import { DEFAULT_LIVENESS } from '../server/node-liveness.ts';
import { deployOptions } from './deploy-body.ts';
import { imageGcOptions } from './image-gc-flags.ts';
import { outputOptions } from './output-format.ts';
import type { CommandName } from './usage.ts';

const help = { help: { type: 'boolean', short: 'h' } } as const;

/** Where the server is and how to authenticate: every client command takes these. */
export const connectionOptions = {
  server: { type: 'string' },
  token: { type: 'string' },
  'data-dir': { type: 'string' },
  ca: { type: 'string' },
  context: { type: 'string' },
  ...help,
} as const;

export const jsonOption = { json: { type: 'boolean' } } as const;

/** Every daemon's: its config file (config-file.ts) and its logs (src/log). */
const daemonOptions = {
  config: { type: 'string' },
  'log-format': { type: 'string', default: 'text' },
  'log-level': { type: 'string', default: 'info' },
} as const;

/** Where the store is: SQLite in the data dir, or etcd. */
function storeLocationOptions() {
  return {
    store: { type: 'string' },
    'etcd-ca': { type: 'string' },
    'etcd-cert': { type: 'string' },
    'etcd-key': { type: 'string' },
  } as const;
}

/** The flags `server` and `up` share: the control plane they start. */
const serverOptions = {
  ...daemonOptions,
  'data-dir': { type: 'string' },
  port: { type: 'string', default: '8080' },
  listen: { type: 'string', default: '0.0.0.0' },
  'heartbeat-timeout': { type: 'string', default: formatDurationMs(DEFAULT_LIVENESS.heartbeatTimeoutMs) },
  'node-down-after': { type: 'string', default: formatDurationMs(DEFAULT_LIVENESS.downAfterMs) },
  // No default here: a later start without the flag runs on the pool the cluster was created with.
  'address-pool': { type: 'string' },
  san: { type: 'string' },
  'allowed-origin': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'cert-lifetime': { type: 'string', default: '2160h' },
  'metrics-listen': { type: 'string' },
  ...storeLocationOptions(),
  advertise: { type: 'string' },
  store: { type: 'string' },
  ...help,
} as const;

/** The flags an agent takes whether it runs alone or inside `up`. */
const localAgentOptions = {
  'docker-host': { type: 'string' },
  name: { type: 'string' },
  concurrency: { type: 'string', default: '8' },
  'secrets-dir': { type: 'string' },
  'stats-interval': { type: 'string', default: '5s' },
  'pull-concurrency': { type: 'string', default: '3' },
  'pull-timeout': { type: 'string', default: '5m' },
  ...imageGcOptions,
  'http-proxy': { type: 'string' },
} as const;

const waitOptions = {
  detach: { type: 'boolean' },
  timeout: { type: 'string', default: '120s' },
} as const;

export const COMMAND_OPTIONS = {
  up: { ...serverOptions, ...localAgentOptions },
  server: serverOptions,
  agent: {
    ...localAgentOptions,
    server: { type: 'string' },
    'join-token': { type: 'string' },
    address: { type: 'string' },
    labels: { type: 'string' },
    'data-dir': { type: 'string' },
    cpus: { type: 'string' },
    memory: { type: 'string' },
    cleanup: { type: 'boolean' },
    cluster: { type: 'string' },
    all: { type: 'boolean' },
    ...daemonOptions,
    ...help,
  },
  deploy: { ...connectionOptions, ...deployOptions, ...waitOptions },
  scale: { ...connectionOptions, replicas: { type: 'string' }, ...waitOptions },
  ps: { ...connectionOptions, ...outputOptions },
  logs: {
    ...connectionOptions,
    ...jsonOption,
    follow: { type: 'boolean', short: 'f' },
    tail: { type: 'string' },
    since: { type: 'string' },
  },
  events: {
    ...connectionOptions,
    ...outputOptions,
    follow: { type: 'boolean', short: 'f' },
    service: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
  },
  stats: { ...connectionOptions, ...outputOptions, 'no-stream': { type: 'boolean' } },
  rm: { ...connectionOptions, volumes: { type: 'boolean' } },
  volume: { ...connectionOptions, ...outputOptions, node: { type: 'string' }, to: { type: 'string' } },
  nodes: { ...connectionOptions, ...outputOptions },
  node: { ...connectionOptions, ...outputOptions },
  top: { ...connectionOptions, once: { type: 'boolean' } },
  servers: { ...connectionOptions, ...jsonOption },
  ca: connectionOptions,
  token: {
    ...connectionOptions,
    ...outputOptions,
    name: { type: 'string' },
    role: { type: 'string' },
    expires: { type: 'string' },
  },
  store: {
    from: { type: 'string' },
    to: { type: 'string' },
    force: { type: 'boolean' },
    'etcd-ca': { type: 'string' },
    'etcd-cert': { type: 'string' },
    'etcd-key': { type: 'string' },
    ...help,
  },
  snapshot: {
    ...storeLocationOptions(),
    'data-dir': { type: 'string' },
    force: { type: 'boolean' },
    ...help,
  },
  policy: { ...connectionOptions, ...outputOptions },
  secret: { ...connectionOptions, ...outputOptions, file: { type: 'string', short: 'f' } },
  config: { ...connectionOptions, ...outputOptions, file: { type: 'string', short: 'f' } },
  registry: {
    ...connectionOptions,
    ...outputOptions,
    username: { type: 'string', short: 'u' },
    'password-stdin': { type: 'boolean' },
  },
  exec: {
    ...connectionOptions,
    interactive: { type: 'boolean', short: 'i' },
    tty: { type: 'boolean', short: 't' },
    user: { type: 'string', short: 'u' },
    workdir: { type: 'string', short: 'w' },
    env: { type: 'string', short: 'e', multiple: true },
  },
  image: { ...connectionOptions, ...outputOptions, node: { type: 'string' } },
  stack: {
    ...connectionOptions,
    ...outputOptions,
    'compose-file': { type: 'string', short: 'c', multiple: true },
    prune: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
  },
  context: {
    server: { type: 'string' },
    'token-file': { type: 'string' },
    ca: { type: 'string' },
    ...jsonOption,
    ...help,
  },
  completion: help,
  install: { 'dry-run': { type: 'boolean' }, root: { type: 'string' }, ...help },
  uninstall: {
    'dry-run': { type: 'boolean' },
    root: { type: 'string' },
    purge: { type: 'boolean' },
    ...help,
  },
  version: { ...connectionOptions, ...outputOptions, client: { type: 'boolean' } },
  rollout: {
    ...connectionOptions,
    ...outputOptions,
    'to-revision': { type: 'string' },
    'no-wait': { type: 'boolean' },
    timeout: { type: 'string', default: '120s' },
  },
} as const satisfies Record<CommandName, ParseArgsOptionsConfig>;
