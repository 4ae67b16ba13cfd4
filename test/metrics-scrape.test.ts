/**
 * A real scrape of a real server, checked by Prometheus' own linter: `skiff server` in this
 * process (SQLite on tmpfs, `--metrics-listen` on loopback) with simulated agents speaking the
 * real protocol (src/sim: the agent's converge loop on fake engines, no Docker), a service whose
 * replicas crash and whose new revision cannot be pulled, then `GET /metrics` over HTTP piped to
 * `promtool check metrics`. Also: the token-less listener serves the same families.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunningServer } from '../src/server/skiff-server.ts';
import { startServer } from '../src/server/skiff-server.ts';
import { FakeEngine } from '../src/sim/fake-engine.ts';
import { FakeUsageSource } from '../src/sim/fake-usage.ts';
import { seededRandom } from '../src/sim/random.ts';
import { SimAgent } from '../src/sim/sim-agent.ts';
import { eventually } from './support/eventually.ts';

const BAD_IMAGE = '127.0.0.1:1/none:latest';
let dir: string;
let server: RunningServer;
const agents: SimAgent[] = [];

before(async () => {
  dir = mkdtempSync(join('/dev/shm', 'skiff-metrics-scrape-'));
  server = await startServer({
    dataDir: dir,
    port: 0,
    listen: '127.0.0.1',
    metricsListen: { host: '127.0.0.1', port: 0 },
    log: () => {},
  });
  for (const name of ['m-1', 'm-2']) {
    const engine = new FakeEngine({
      random: seededRandom(name.length),
      images: ['skiff-demo:v1'],
      unpullable: (ref) => ref === BAD_IMAGE,
      info: { name, cpuMillicores: 4000, memoryBytes: 4 * 1024 ** 3 },
    });
    const agent = new SimAgent({
      serverUrl: server.url,
      joinToken: server.tokens.join,
      name,
      engine,
      // Usage of every replica and node, so the linter sees those families with samples too.
      usage: new FakeUsageSource({ cpuMillicores: 4000, memoryBytes: 4 * 1024 ** 3 }),
      statsIntervalMs: 500,
      log: () => {},
    });
    agents.push(agent);
    await agent.start();
  }
  await eventually('both agents registered', () => agents.every((a) => a.registered));
});

after(async () => {
  for (const agent of agents) agent.stop();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.tokens.admin}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function scrape(): Promise<string> {
  const res = await api('GET', '/metrics');
  assert.equal(res.status, 200);
  return res.text();
}

test('a scrape of a busy cluster passes promtool check metrics', async () => {
  const spec = {
    name: 'web',
    image: 'skiff-demo:v1',
    replicas: 3,
    health_check: { type: 'exec', command: ['true'], interval: '1s', retries: 1 },
    update: { min_healthy_time: '0s', auto_rollback: true },
  };
  assert.equal((await api('POST', '/api/deploy', spec)).status, 201);
  await eventually('3 replicas running', () =>
    agents.reduce((n, a) => n + a.engine.runningIds().length, 0) === 3 ? true : undefined,
  );
  // A crash: the agent counts the exit and its restart, and sends them in its next snapshot.
  const victim = agents.find((a) => a.engine.runningIds().length > 0);
  const id = victim?.engine.runningIds()[0];
  assert.ok(victim && id && victim.engine.kill(id));
  await api('POST', '/api/deploy', { ...spec, image: BAD_IMAGE });
  const text = await eventually(
    'the crash, the failed pull and the rollback in the metrics',
    async () => {
      const text = await scrape();
      const has = (pattern: RegExp) => pattern.test(text);
      return has(/^skiff_replica_restarts_total\{service="web",node="m-\d",reason="error"\} 1$/m) &&
        has(/^skiff_image_pulls_total\{service="web",node="m-\d",result="failure"\} [1-9]/m) &&
        has(/^skiff_rollouts_total\{service="web",result="rolled_back"\} 1$/m) &&
        has(/^skiff_health_probes_total\{service="web",node="m-\d",result="success"\} [1-9]/m) &&
        has(/^skiff_container_cpu_usage_seconds_total\{service="web",/m) &&
        has(/^skiff_node_cpus\{node="m-\d"\} 4$/m)
        ? text
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  for (const family of [
    'skiff_service_replicas_desired',
    'skiff_node_capacity_cpu_cores',
    'process_cpu_seconds_total',
  ])
    assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'));
  const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(lint.error, undefined, `promtool: ${lint.error?.message} (apt-get install prometheus)`);
  assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
  assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '');
});

test('--metrics-listen serves the same metrics without a token', async () => {
  const url = server.metricsUrl;
  if (url === undefined) throw new Error('the server reports no metrics listener');
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  // A simulated agent on a loaded machine may be between connections at one instant: the scrape
  // is taken again until it shows the cluster as it settles.
  const text = await eventually('the metrics listener shows the cluster', async () => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    const body = await res.text();
    return /^skiff_agent_connected\{node="m-1"\} 1$/m.test(body) ? body : undefined;
  });
  assert.match(text, /^skiff_service_replicas_desired\{service="web"\} 3$/m);
  assert.equal((await fetch(new URL('/api/services', url))).status, 404);
  // The API's own port still asks for one.
  assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
});

test('--metrics-listen off loopback speaks TLS with the serving certificate, and plain HTTP gets nothing', async () => {
  const otherDir = mkdtempSync(join('/dev/shm', 'skiff-metrics-tls-'));
  const other = await startServer({
    dataDir: otherDir,
    port: 0,
    listen: '127.0.0.1',
    metricsListen: { host: '0.0.0.0', port: 0 },
    log: () => {},
  });
  try {
    const url = other.metricsUrl;
    if (url === undefined) throw new Error('no metrics listener');
    const port = new URL(url).port;
    assert.match(url, /^https:\/\/0\.0\.0\.0:\d+\/metrics$/);
    const ca = readFileSync(join(otherDir, 'ca.crt'), 'utf8');
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpsGet({ host: '127.0.0.1', port, path: '/metrics', ca }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
    });
    assert.match(text, /^skiff_server_leader 1$/m);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  } finally {
    await other.close();
    rmSync(otherDir, { recursive: true, force: true });
  }
});
