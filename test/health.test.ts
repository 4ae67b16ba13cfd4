/**
 * Health checks on the real engine: HTTP, TCP and exec probes each way, an unhealthy replica
 * replaced by a fresh container, a crash loop backing off with growing delays, OOM reported.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ContainerView, ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let skiff: SkiffCluster;

async function view(name: string): Promise<ServiceView> {
  return serviceViewSchema.parse((await skiff.api('GET', `/api/services/${name}`)).body);
}

async function replica(
  name: string,
  slot: number,
  predicate: (c: ContainerView) => boolean,
  timeoutMs = 30_000,
) {
  return await eventually(
    `${name}-${slot} to match`,
    async () => (await view(name)).containers.find((c) => c.slot === slot && predicate(c)),
    { timeoutMs },
  );
}

async function events(service: string): Promise<{ message: string; timestamp: string }[]> {
  return (await skiff.api('GET', `/api/events?service=${service}`)).body as {
    message: string;
    timestamp: string;
  }[];
}

async function deploy(body: Record<string, unknown>): Promise<void> {
  const response = await skiff.api('POST', '/api/deploy', { image: 'skiff-demo:v1', ...body });
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
}

describe('health checks and self-healing', { timeout: 300_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('up');
  });
  after(async () => {
    await skiff?.stop();
  });

  test('an HTTP check that starts failing gets the replica replaced, healthy again', async () => {
    await deploy({
      name: 'web',
      replicas: 2,
      ports: [{ container_port: 8080 }],
      health_check: { type: 'http', endpoint: 'http://localhost:8080/health', interval: '300ms', retries: 2 },
    });
    const healthy = await eventually('both replicas healthy', async () => {
      const v = await view('web');
      return v.healthy === 2 && v.status === 'running' ? v : undefined;
    });
    const ps = await skiff.cli(['ps']);
    assert.match(ps.stdout, /web\s+running\s+2\/2\s+healthy/);

    const sick = healthy.containers.find((c) => c.slot === 1);
    const port = sick?.ports[0]?.host_port;
    assert.ok(sick?.id && port);
    assert.equal((await fetch(`http://127.0.0.1:${port}/cgi-bin/sick`)).status, 200);

    const replaced = await replica(
      'web',
      1,
      (c) => c.id !== sick.id && c.health === 'healthy' && c.restart_count === 1,
    );
    assert.equal(replaced.status, 'running');
    const messages = (await events('web')).map((e) => e.message);
    const order = ['Container web-1 failed health check', 'Restarting web-1...', 'Container web-1 healthy'];
    const positions = order.map((m) => messages.lastIndexOf(m));
    assert.ok(
      positions.every((p) => p >= 0),
      JSON.stringify(messages),
    );
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
      'failed, restarting, healthy in order',
    );
    assert.ok(!messages.includes('Container web-0 failed health check'), 'the other replica was left alone');
  });

  test('TCP probes: an open port is healthy, a closed one is not', async () => {
    await deploy({
      name: 'tcp-ok',
      health_check: { type: 'tcp', port: 8080, interval: '300ms', retries: 2 },
    });
    await deploy({
      name: 'tcp-bad',
      health_check: { type: 'tcp', port: 9999, interval: '300ms', retries: 2 },
      restart_policy: { condition: 'never' },
    });
    await replica('tcp-ok', 0, (c) => c.health === 'healthy');
    const bad = await replica('tcp-bad', 0, (c) => c.health === 'unhealthy');
    assert.match(bad.message ?? '', /health check failed: .*ECONNREFUSED/);
    assert.equal((await view('tcp-bad')).healthy, 0);
  });

  test('exec probes: exit 0 is healthy, anything else is not', async () => {
    await deploy({
      name: 'exec-ok',
      health_check: { type: 'exec', command: ['test', '-f', '/www/health'], interval: '300ms', retries: 2 },
    });
    await deploy({
      name: 'exec-bad',
      health_check: { type: 'exec', command: ['sh', '-c', 'exit 7'], interval: '300ms', retries: 2 },
      restart_policy: { condition: 'never' },
    });
    await replica('exec-ok', 0, (c) => c.health === 'healthy');
    const bad = await replica('exec-bad', 0, (c) => c.health === 'unhealthy');
    assert.match(bad.message ?? '', /exit 7/);
  });

  test('a container that exits at once backs off with growing delays', async () => {
    await deploy({
      name: 'crashy',
      command: ['sh', '-c', 'echo dying; exit 3'],
      restart_policy: { condition: 'always', delay: '300ms', max_delay: '10s' },
    });
    const looping = await replica('crashy', 0, (c) => c.restart_count >= 4, 60_000);
    assert.equal(looping.exit_code, 3);
    const latest = await replica('crashy', 0, (c) => c.status === 'backoff' && c.retry_at !== null);
    assert.match(latest.message ?? '', /exited with code 3/);
    assert.equal((await view('crashy')).status, 'degraded');

    // Backoff is the wait between an exit and the restart it causes (container start time, which
    // varies with load, is not part of it): immediate, then ~300, 600, 1200 ms.
    const history = await events('crashy');
    const delays: number[] = [];
    let exitedAt: number | undefined;
    for (const event of history) {
      if (event.message === 'Container crashy-0 exited with code 3') exitedAt = Date.parse(event.timestamp);
      if (event.message === 'Restarting crashy-0...' && exitedAt !== undefined) {
        delays.push(Date.parse(event.timestamp) - exitedAt);
        exitedAt = undefined;
      }
    }
    const [first = 0, second = 0, , fourth = 0] = delays;
    assert.ok(delays.length >= 4, JSON.stringify(delays));
    assert.ok(first < 250, `the first restart is immediate: ${JSON.stringify(delays)}`);
    assert.ok(second >= 250 && fourth >= 2 * second, `delays grow: ${JSON.stringify(delays)}`);
    assert.equal((await skiff.api('DELETE', '/api/services/crashy')).status, 200);
  });

  test('an out-of-memory kill is reported as such', async () => {
    await deploy({
      name: 'hog',
      command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=4'],
      resources: { memory_mb: 16 },
      restart_policy: { condition: 'never' },
    });
    const dead = await replica('hog', 0, (c) => c.status === 'exited');
    assert.equal(dead.message, 'OOM killed');
    assert.equal(dead.exit_code, 137);
    const messages = (await events('hog')).map((e) => e.message);
    assert.ok(messages.includes('Container hog-0 was killed: out of memory (OOM)'), JSON.stringify(messages));
  });
});
