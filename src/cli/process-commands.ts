/**
 * The long-running commands: `skiff server` (control plane), `skiff agent` (one per host) and
 * `skiff up` (both in one process, the agent speaking the same protocol over a real socket).
 * Each exits cleanly on SIGINT/SIGTERM; containers keep running, as they belong to the cluster.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from '../agent/agent.ts';
import { DockerEngine } from '../docker/docker-engine.ts';
import { formatDurationMs, parseDurationMs } from '../model/duration.ts';
import type { LivenessSettings } from '../server/node-liveness.ts';
import { DEFAULT_LIVENESS } from '../server/node-liveness.ts';
import type { RunningServer } from '../server/skiff-server.ts';
import { startServer } from '../server/skiff-server.ts';
import { UsageError } from './errors.ts';

const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);

export function defaultDataDir(): string {
  return process.env.SKIFF_DATA_DIR || join(homedir(), '.skiff');
}

export async function runServer(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: serverOptions, strict: true });
  const { server, dataDir } = await startServerFromFlags(values);
  log(`skiff server listening on ${values.listen}:${new URL(server.url).port} (data in ${dataDir})`);
  log(`admin token: ${server.tokens.adminPath}; join token: ${server.tokens.joinPath}`);
  await untilSignal(() => server.close());
}

export async function runAgent(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      'join-token': { type: 'string' },
      name: { type: 'string' },
      address: { type: 'string' },
      labels: { type: 'string' },
      'docker-host': { type: 'string' },
      'data-dir': { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      cpus: { type: 'string' },
      memory: { type: 'string' },
    },
    strict: true,
  });
  if (!values.server) throw new UsageError('agent: --server URL is required');
  const joinToken = values['join-token'] ?? process.env.SKIFF_JOIN_TOKEN;
  if (!joinToken) throw new UsageError('agent: --join-token TOKEN (or SKIFF_JOIN_TOKEN) is required');
  const agent = new Agent({
    serverUrl: values.server,
    joinToken,
    engine: new DockerEngine(values['docker-host'] ?? process.env.DOCKER_HOST),
    name: values.name,
    address: values.address,
    labels: parseLabels(values.labels),
    cpuMillicores: values.cpus === undefined ? undefined : parseCpus(values.cpus),
    memoryBytes: values.memory === undefined ? undefined : parseMemory(values.memory),
    dataDir: resolve(values['data-dir'] ?? join(homedir(), '.skiff-agent')),
    concurrency: parseConcurrency(values.concurrency),
    log,
  });
  await agent.start();
  log(`skiff agent started, server ${values.server}`);
  await untilSignal(async () => agent.stop());
}

export async function runUp(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...serverOptions,
      'docker-host': { type: 'string' },
      name: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
    },
    strict: true,
  });
  const { server, dataDir } = await startServerFromFlags(values);
  const agent = new Agent({
    serverUrl: server.url,
    joinToken: readFileSync(server.tokens.joinPath, 'utf8').trim(),
    engine: new DockerEngine(values['docker-host'] ?? process.env.DOCKER_HOST),
    name: values.name,
    dataDir: join(dataDir, 'agent'),
    concurrency: parseConcurrency(values.concurrency),
    log,
  });
  await agent.start();
  process.stdout.write(
    `Skiff is up.\n  API:         ${server.url}\n  admin token: ${server.tokens.adminPath}\n  data:        ${dataDir}\n`,
  );
  await untilSignal(async () => {
    agent.stop();
    await server.close();
  });
}

async function untilSignal(shutdown: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolveSignal) => {
    process.once('SIGINT', () => resolveSignal());
    process.once('SIGTERM', () => resolveSignal());
  });
  log('shutting down (containers keep running)');
  await shutdown();
  process.exit(0);
}

/** The flags `server` and `up` share, and the server they describe. */
const serverOptions = {
  'data-dir': { type: 'string' },
  port: { type: 'string', default: '8080' },
  listen: { type: 'string', default: '0.0.0.0' },
  'heartbeat-timeout': { type: 'string', default: formatDurationMs(DEFAULT_LIVENESS.heartbeatTimeoutMs) },
  'node-down-after': { type: 'string', default: formatDurationMs(DEFAULT_LIVENESS.downAfterMs) },
} as const;

async function startServerFromFlags(values: {
  'data-dir'?: string;
  port: string;
  listen: string;
  'heartbeat-timeout': string;
  'node-down-after': string;
}): Promise<{ server: RunningServer; dataDir: string }> {
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir());
  const server = await startServer({
    dataDir,
    port: parsePort(values.port),
    listen: values.listen,
    presetAdminToken: process.env.SKIFF_TOKEN,
    liveness: parseLiveness(values),
    log,
  });
  return { server, dataDir };
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

function parseCpus(text: string): number {
  const cpus = Number(text);
  if (!Number.isFinite(cpus) || cpus <= 0)
    throw new UsageError(`--cpus: expected a positive number of cores, got ${text}`);
  return Math.round(cpus * 1000);
}

/** `--memory 8g`, `512m`, or bytes. */
function parseMemory(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(text.trim());
  if (!match?.[1]) throw new UsageError(`--memory: expected a size such as 8g or 512m, got ${text}`);
  const power = ' kmgt'.indexOf((match[2] ?? '').toLowerCase() || ' ');
  return Math.round(Number(match[1]) * 1024 ** power);
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: not a port number: ${text}`);
  return port;
}

function parseConcurrency(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new UsageError(`--concurrency: must be 1..256, got ${text}`);
  return n;
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
