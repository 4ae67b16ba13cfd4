/**
 * The long-running commands: `skiff server` (control plane), `skiff agent` (one per host) and
 * `skiff up` (both in one process, the agent speaking the same protocol over a real socket).
 * Each exits cleanly on SIGINT/SIGTERM; containers keep running, as they belong to the cluster.
 *
 * The server half (skiff-server.ts, the stores, etcd's gRPC client, the certificate issuer) is
 * imported only by the commands that run it: an agent's start, which is on the path of a host's
 * return after a crash or reboot, would otherwise load some 200 more files first.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, type HttpProxyChoice } from '../agent/agent.ts';
import { loadAssignment } from '../agent/assignment-file.ts';
import { startedLine } from '../agent/connect-timing.ts';
import { parseServerList } from '../agent/server-choice.ts';
import { usageSourceFor } from '../agent/stats-docker-usage.ts';
import { weakTokenReason } from '../auth/token-strength.ts';
import { EngineUnreachableError } from '../docker/container-engine.ts';
import { DockerEngine } from '../docker/docker-engine.ts';
import { DockerImages } from '../docker/docker-images.ts';
import { EngineAddressError } from '../docker/engine-address.ts';
import { engineTraceFile } from '../docker/engine-tracer.ts';
import { parseLogFormat, parseLogLevel } from '../log/log-line.ts';
import { createLogger, type Logger, lineLogger } from '../log/logger.ts';
import { type ListenAddress, MetricsListenError, parseListenAddress } from '../metrics/metrics-listener.ts';
import type { AddressPool } from '../model/addressing.ts';
import { AddressPoolError, parseAddressPool } from '../model/addressing.ts';
import { parseDurationMs } from '../model/duration.ts';
import { SERVICE_NAME_PATTERN } from '../model/names.ts';
import { removeRules } from '../net/data-plane/netfilter.ts';
import { ALL_CLUSTERS_PREFIX, chainPrefix } from '../net/data-plane/netfilter-rules.ts';
import { removeHaproxy } from '../net/haproxy/haproxy-process.ts';
import { JoinTokenFormatError, parseJoinToken } from '../security/join-token.ts';
import { loadIdentity } from '../security/node-identity.ts';
import type { LivenessSettings } from '../server/node-liveness.ts';
import type { ServerOptions } from '../server/skiff-server.ts';
import { noPositionals, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { DEFAULT_CONFIG_FILES, withConfigFile } from './config-file.ts';
import { engineAddressSource, engineUnreachableAdvice } from './engine-advice.ts';
import { StartupError, UsageError } from './errors.ts';
import { parseIntegerFlag, parsePositiveNumberFlag, parseSizeBytes } from './flag-values.ts';
import { imageGcFromFlags } from './image-gc-flags.ts';
import { printText } from './output.ts';
import { commandUsage } from './usage.ts';
import { coldImageMs, restartWarmIfCold, willRestartWarm } from './warm-restart.ts';

/** This process's own lines; replaced by the flags' logger once they are read (startLogging). */
let log: (message: string) => void = lineLogger(createLogger({ format: 'text', level: 'info' }), 'skiff');

/** `--log-format` and `--log-level` checked, and the daemon's loggers made from them. */
function startLogging(values: { 'log-format': string; 'log-level': string }): Logger {
  const format = parseLogFormat(values['log-format']);
  if (format === undefined)
    throw new UsageError(`--log-format: expected text or json, got ${values['log-format']}`);
  const level = parseLogLevel(values['log-level']);
  if (level === undefined) {
    throw new UsageError(`--log-level: expected debug, info, warn or error, got ${values['log-level']}`);
  }
  const logger = createLogger({ format, level });
  log = lineLogger(logger, 'skiff');
  return logger;
}

/** The daemon's argv with its config file's settings in front (flags win). */
function daemonArgs(argv: string[], role: 'server' | 'agent' | 'up'): Promise<string[]> {
  const defaultFile = role === 'up' ? undefined : DEFAULT_CONFIG_FILES[role];
  return withConfigFile(argv, defaultFile, COMMAND_OPTIONS[role]);
}

export function defaultDataDir(): string {
  return process.env.SKIFF_DATA_DIR || join(homedir(), '.skiff');
}

export async function runServer(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) return printText(commandUsage('server'));
  const { values, positionals } = parseCommandArgs({
    args: await daemonArgs(argv, 'server'),
    options: COMMAND_OPTIONS.server,
  });
  noPositionals(positionals);
  const logger = startLogging(values);
  const settings = { ...(await serverSettingsFromFlags(values)), log: lineLogger(logger, 'server') };
  const { startServer } = await importServerHalf(settings.store);
  // Compiled on a cold cache: start again warm, without Node's TypeScript stripper (warm-restart.ts),
  // before anything is listening or open.
  restartWarmIfCold();
  const server = await startServer(settings);
  const { describeLocation } = await import('../store/store-url.ts');
  // The handlers before the lines that say it is up: a supervisor (or a test) that signals on
  // reading them gets a clean shutdown, never Node's default exit.
  const stopped = untilSignal(() => server.close());
  const state = settings.store ? `state in ${describeLocation(settings.store)}, keys` : 'data';
  log(
    `skiff server listening on ${values.listen}:${new URL(server.url).port} (${state} in ${settings.dataDir})`,
  );
  log(`admin token: ${server.tokens.adminPath}; join token: ${server.tokens.joinPath}`);
  if (server.metricsUrl) log(`metrics without a token at ${server.metricsUrl}`);
  await stopped;
}

/**
 * The server half's modules, with the etcd store's (imported at its open otherwise) when the
 * store is etcd: all of them compiled before a warm restart, so the restarted server loads no
 * TypeScript stripper for a module imported later.
 */
async function importServerHalf(
  store: ServerOptions['store'],
): Promise<typeof import('../server/skiff-server.ts')> {
  const serverHalf = await import('../server/skiff-server.ts');
  if (store?.kind === 'etcd') {
    await import('../store/etcd/etcd-store.ts');
    await import('../server/leadership/etcd-leadership.ts');
  }
  // Into the cache for the warm image, which imports it at the first Compose request.
  if (willRestartWarm()) await import('../api/compose-stack.ts');
  return serverHalf;
}

export async function runAgent(argv: string[]): Promise<void> {
  // Since the process began (node's own start and this command's modules, with a cold image's
  // run before a warm restart): a host's return waits for it.
  const coldMs = coldImageMs();
  const loadedMs = coldMs + Math.round(performance.now());
  if (argv.includes('--help') || argv.includes('-h')) return printText(commandUsage('agent'));
  const { values, positionals } = parseCommandArgs({
    args: await daemonArgs(argv, 'agent'),
    options: COMMAND_OPTIONS.agent,
  });
  noPositionals(positionals);
  const logger = startLogging(values);
  if (logger.isLevelEnabled('debug')) logger.child({ component: 'agent' }).debug(nodeOptionsLine());
  const dataDir = resolve(values['data-dir'] ?? join(homedir(), '.skiff-agent'));
  if (values.cleanup) {
    await cleanupAgent(dataDir, values.cluster, values.all ?? false);
    return;
  }
  if (!values.server) throw new UsageError('agent: --server URL is required');
  const joinToken = nonEmpty(values['join-token'] ?? process.env.SKIFF_JOIN_TOKEN);
  // The token is needed once: after joining, the node certificate in the data dir is the identity.
  if (!joinToken && !loadIdentity(dataDir)) {
    throw new UsageError(
      `agent: --join-token TOKEN (or SKIFF_JOIN_TOKEN) is required to join (${dataDir} holds no node certificate)`,
    );
  }
  if (joinToken) {
    try {
      parseJoinToken(joinToken);
    } catch (error) {
      if (error instanceof JoinTokenFormatError) throw new UsageError(`--join-token: ${error.message}`);
      throw error;
    }
  }
  const cpuMillicores =
    values.cpus === undefined ? undefined : Math.round(parsePositiveNumberFlag('--cpus', values.cpus) * 1000);
  const memoryBytes = values.memory === undefined ? undefined : parseSizeBytes('--memory', values.memory);
  const labels = parseLabels(values.labels);
  const concurrency = parseIntegerFlag('--concurrency', values.concurrency, 1, 256);
  checkNodeName(values.name);
  // Compiled on a cold cache: start again warm, without Node's TypeScript stripper (warm-restart.ts).
  restartWarmIfCold();
  const engine = await reachableEngine(values['docker-host']);
  const serverUrls = parseServerList(values.server);
  // A bench's window into an agent in another process: every engine call, timed, in this file.
  const traceFile = process.env.SKIFF_ENGINE_TRACE;
  const agent = new Agent({
    serverUrls,
    joinToken,
    engine: traceFile ? engineTraceFile(engine, traceFile, values.name ?? engine.address) : engine,
    engineAddress: engine.address,
    name: values.name,
    address: values.address,
    labels,
    cpuMillicores,
    memoryBytes,
    dataDir,
    concurrency,
    ...(values['secrets-dir'] ? { secretsDir: resolve(values['secrets-dir']) } : {}),
    ...usageFromFlags(values),
    ...pullsFromFlags(values),
    images: new DockerImages(values['docker-host']),
    imageGc: imageGcFromFlags(values),
    httpProxy: httpProxyFlag(values['http-proxy'] ?? process.env.SKIFF_HTTP_PROXY),
    log: lineLogger(logger, 'agent'),
  });
  await agent.start();
  const stopped = untilSignal(async () => agent.stop());
  log(startedLine({ startedMs: coldMs + Math.round(performance.now()), modulesMs: loadedMs }, values.server));
  await stopped;
}

/**
 * What V8 runs this process with (`--log-level debug`): the options Node was given (bin/node-flags'
 * agent lines; the single executable re-execs itself for them, src/build/command-node-flags.ts),
 * V8's heap limit, which includes the young generation's (three times the semi-space: 21 MiB
 * lower with `--max-semi-space-size=1` than with 8), and the PID, which a re-exec keeps. The
 * binary's test reads it.
 */
function nodeOptionsLine(): string {
  const { getHeapStatistics } = process.getBuiltinModule('node:v8');
  const limit = getHeapStatistics().heap_size_limit;
  return `node options: ${process.execArgv.join(' ') || '(none)'}; V8 heap limit ${limit} bytes; pid ${process.pid}`;
}

export async function runUp(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) return printText(commandUsage('up'));
  const { values, positionals } = parseCommandArgs({
    args: await daemonArgs(argv, 'up'),
    options: COMMAND_OPTIONS.up,
  });
  noPositionals(positionals);
  const logger = startLogging(values);
  const concurrency = parseIntegerFlag('--concurrency', values.concurrency, 1, 256);
  const settings = { ...(await serverSettingsFromFlags(values)), log: lineLogger(logger, 'server') };
  checkNodeName(values.name);
  const { dataDir } = settings;
  // The engine first: without one there is nothing to run, and no server half started.
  const engine = await reachableEngine(values['docker-host']);
  const { startServer } = await importServerHalf(settings.store);
  restartWarmIfCold();
  const server = await startServer(settings);
  if (server.metricsUrl) log(`metrics without a token at ${server.metricsUrl}`);
  const agent = new Agent({
    serverUrls: [server.url],
    // The local agent joins like any other, over mutual TLS on loopback.
    joinToken: server.tokens.join,
    engine,
    engineAddress: engine.address,
    name: values.name,
    dataDir: join(dataDir, 'agent'),
    concurrency,
    ...(values['secrets-dir'] ? { secretsDir: resolve(values['secrets-dir']) } : {}),
    ...usageFromFlags(values),
    ...pullsFromFlags(values),
    images: new DockerImages(values['docker-host']),
    imageGc: imageGcFromFlags(values),
    httpProxy: httpProxyFlag(values['http-proxy'] ?? process.env.SKIFF_HTTP_PROXY),
    log: lineLogger(logger, 'agent'),
  });
  try {
    await agent.start();
  } catch (error) {
    await server.close();
    throw error;
  }
  const stopped = untilSignal(async () => {
    agent.stop();
    await server.close();
  });
  process.stdout.write(
    `Skiff is up.\n  API:         ${server.url}\n  admin token: ${server.tokens.adminPath}\n  data:        ${dataDir}\n`,
  );
  await stopped;
}

const HTTP_PROXIES = ['auto', 'builtin', 'haproxy'] as const;

/** `--http-proxy`: auto, builtin or haproxy. */
function httpProxyFlag(value: string | undefined): HttpProxyChoice {
  const choice = HTTP_PROXIES.find((name) => name === (value || 'auto'));
  if (choice === undefined) throw new UsageError(`--http-proxy ${value}: expected auto, builtin or haproxy`);
  return choice;
}

/** The agent's stats sampling: the engine `--docker-host` names, every `--stats-interval`. */
function usageFromFlags(values: {
  'docker-host'?: string | undefined;
  'stats-interval'?: string | undefined;
}) {
  const statsIntervalMs = parseDurationMs(values['stats-interval'] ?? '5s');
  if (statsIntervalMs === undefined || statsIntervalMs < 1000 || statsIntervalMs > 3_600_000)
    throw new UsageError(
      `--stats-interval ${values['stats-interval']}: expected a duration from 1s to 1h (5s)`,
    );
  return { usage: usageSourceFor(values['docker-host']), statsIntervalMs };
}

/** The agent's image pulls: `--pull-concurrency` at once, each cancelled after `--pull-timeout`. */
function pullsFromFlags(values: {
  'pull-concurrency'?: string | undefined;
  'pull-timeout'?: string | undefined;
}) {
  const pullConcurrency = parseIntegerFlag('--pull-concurrency', values['pull-concurrency'] ?? '3', 1, 64);
  const pullTimeoutMs = parseDurationMs(values['pull-timeout'] ?? '5m');
  if (pullTimeoutMs === undefined || pullTimeoutMs < 10_000 || pullTimeoutMs > 86_400_000)
    throw new UsageError(
      `--pull-timeout ${values['pull-timeout']}: expected a duration from 10s to 24h (5m)`,
    );
  return { pullConcurrency, pullTimeoutMs };
}

/** The engine `--docker-host` (or the environment) names, once it has answered. */
async function reachableEngine(dockerHost: string | undefined): Promise<DockerEngine> {
  let engine: DockerEngine;
  try {
    engine = new DockerEngine(dockerHost);
  } catch (error) {
    if (error instanceof EngineAddressError) throw new UsageError(error.message);
    throw error;
  }
  try {
    await engine.info();
  } catch (error) {
    if (!(error instanceof EngineUnreachableError)) throw error;
    const source = engineAddressSource(dockerHost, process.env);
    throw new StartupError(engineUnreachableAdvice(error, source), { cause: error });
  }
  return engine;
}

/**
 * `skiff agent --cleanup`: removes this host's netfilter rules of the agent's cluster (from its
 * data dir, or `--cluster ID`), or of every Skiff cluster with `--all`. The agent leaves them in
 * place when it stops, so traffic keeps flowing through a restart; run this after `skiff node rm`
 * or to uninstall. Containers and networks are the engine's to remove.
 */
async function cleanupAgent(dataDir: string, cluster: string | undefined, all: boolean): Promise<void> {
  const clusterId = cluster ?? loadAssignment(dataDir, log)?.cluster_id;
  if (!all && clusterId === undefined) {
    throw new UsageError(`agent --cleanup: no cluster known in ${dataDir}; give --cluster ID or --all`);
  }
  const prefix = all || clusterId === undefined ? ALL_CLUSTERS_PREFIX : chainPrefix(clusterId);
  const removed = await removeRules(prefix);
  process.stdout.write(
    removed ? `removed the netfilter rules of ${prefix}*\n` : `no netfilter rules of ${prefix}*\n`,
  );
  // The agent's own HAProxy, should one have outlived it, and its files.
  if (removeHaproxy(join(dataDir, 'haproxy'), log))
    process.stdout.write(`removed ${join(dataDir, 'haproxy')}\n`);
}

/** Installs the SIGINT/SIGTERM handlers as it is called; settles after the shutdown. */
async function untilSignal(shutdown: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolveSignal) => {
    process.once('SIGINT', () => resolveSignal());
    process.once('SIGTERM', () => resolveSignal());
  });
  log('shutting down (containers keep running)');
  await shutdown();
  process.exit(0);
}

/** SKIFF_TOKEN as the admin token, refused before anything starts when it is too weak to be one. */
function presetAdminToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  const weak = weakTokenReason(token);
  if (weak) throw new StartupError(weak);
  return token;
}

/** Every server flag checked, so a usage error comes before anything starts. */
async function serverSettingsFromFlags(values: {
  'data-dir'?: string;
  port: string;
  listen: string;
  'heartbeat-timeout': string;
  'node-down-after': string;
  'address-pool'?: string;
  san?: string;
  'allowed-origin'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'cert-lifetime': string;
  'metrics-listen'?: string;
  store?: string;
  'etcd-ca'?: string;
  'etcd-cert'?: string;
  'etcd-key'?: string;
  advertise?: string;
}): Promise<ServerOptions> {
  const { etcdLocationFromFlags } = await import('./store-flags.ts');
  const store = etcdLocationFromFlags(values);
  const certLifetimeMs = parseDurationMs(values['cert-lifetime']);
  if (certLifetimeMs === undefined || certLifetimeMs < 3000) {
    throw new UsageError(
      `--cert-lifetime: expected a duration of at least 3s, got ${values['cert-lifetime']}`,
    );
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  return {
    sans: (values.san ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== ''),
    certLifetimeMs,
    allowedOrigins: parseOrigins(values['allowed-origin']),
    ...(values['tls-cert'] && values['tls-key']
      ? { operatorCert: { certPath: resolve(values['tls-cert']), keyPath: resolve(values['tls-key']) } }
      : {}),
    dataDir: resolve(values['data-dir'] ?? defaultDataDir()),
    ...(store ? { store } : {}),
    port: parseIntegerFlag('--port', values.port, 0, 65535),
    listen: values.listen,
    presetAdminToken: presetAdminToken(process.env.SKIFF_TOKEN),
    liveness: parseLiveness(values),
    ...(values['metrics-listen'] === undefined
      ? {}
      : { metricsListen: parseMetricsListen(values['metrics-listen']) }),
    // Not given: a new cluster takes the default pool, an existing one keeps the pool it has.
    ...(values['address-pool'] === undefined ? {} : { addressPool: parsePool(values['address-pool']) }),
    ...(values.advertise === undefined ? {} : { advertiseUrl: advertiseUrl(values.advertise) }),
    log,
  };
}

function parseMetricsListen(text: string): ListenAddress {
  try {
    return parseListenAddress(text);
  } catch (error) {
    if (error instanceof MetricsListenError) throw new UsageError(error.message);
    throw error;
  }
}

/** `--allowed-origin https://ops.example,https://other.example`: each an origin, exactly. */
function parseOrigins(text: string | undefined): string[] {
  const origins = (text ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of origins) {
    const url = URL.parse(origin);
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin)
      throw new UsageError(`--allowed-origin: expected origins like https://ops.example:8443, got ${origin}`);
  }
  return origins;
}

function advertiseUrl(text: string): string {
  const url = URL.parse(text);
  if (url === null || url.protocol !== 'https:')
    throw new UsageError(`--advertise: expected an https:// URL (agents speak TLS), got "${text}"`);
  return text.replace(/\/+$/, '');
}

function parsePool(text: string): AddressPool {
  try {
    return parseAddressPool(text);
  } catch (error) {
    if (error instanceof AddressPoolError) throw new UsageError(`--address-pool: ${error.message}`);
    throw error;
  }
}

function parseLiveness(values: { 'heartbeat-timeout': string; 'node-down-after': string }): LivenessSettings {
  const heartbeatTimeoutMs = parseDurationMs(values['heartbeat-timeout']);
  const downAfterMs = parseDurationMs(values['node-down-after']);
  if (heartbeatTimeoutMs === undefined || heartbeatTimeoutMs < 100) {
    throw new UsageError(
      `--heartbeat-timeout: expected a duration of at least 100ms, got ${values['heartbeat-timeout']}`,
    );
  }
  if (downAfterMs === undefined || downAfterMs < heartbeatTimeoutMs) {
    throw new UsageError(
      `--node-down-after: expected a duration ≥ --heartbeat-timeout, got ${values['node-down-after']}`,
    );
  }
  return { heartbeatTimeoutMs, downAfterMs };
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').filter((p) => p.trim() !== '')) {
    const [key, ...rest] = pair.split('=');
    if (!key || rest.length === 0) throw new UsageError(`--labels: expected k=v[,k=v...], got ${pair}`);
    labels[key.trim()] = rest.join('=').trim();
  }
  return labels;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A node name names its certificate and its DNS entries: a DNS label, like a service name. */
function checkNodeName(name: string | undefined): void {
  if (name !== undefined && !SERVICE_NAME_PATTERN.test(name)) {
    throw new UsageError(`--name: a node name is a DNS label (a-z, 0-9 and -, at most 63), got "${name}"`);
  }
}
