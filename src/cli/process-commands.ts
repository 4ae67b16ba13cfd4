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
import { startServer } from '../server/skiff-server.ts';
import { UsageError } from './errors.ts';

const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);

export function defaultDataDir(): string {
  return process.env.SKIFF_DATA_DIR || join(homedir(), '.skiff');
}

export async function runServer(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string', default: '8080' },
      listen: { type: 'string', default: '0.0.0.0' },
    },
    strict: true,
  });
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir());
  const server = await startServer({
    dataDir,
    port: parsePort(values.port),
    listen: values.listen,
    presetAdminToken: process.env.SKIFF_TOKEN,
    log,
  });
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
      'data-dir': { type: 'string' },
      port: { type: 'string', default: '8080' },
      listen: { type: 'string', default: '0.0.0.0' },
      'docker-host': { type: 'string' },
      name: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
    },
    strict: true,
  });
  const dataDir = resolve(values['data-dir'] ?? defaultDataDir());
  const server = await startServer({
    dataDir,
    port: parsePort(values.port),
    listen: values.listen,
    presetAdminToken: process.env.SKIFF_TOKEN,
    log,
  });
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
