/**
 * Health checks on the real engine: HTTP, TCP and exec probes each way, an unhealthy replica
 * replaced by a fresh container (also for an image whose PID 1 ignores SIGTERM, which once made
 * the slot churn forever), a crash loop backing off with growing delays, OOM reported, and
 * `init: true` making such an image stop at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SkiffEvent } from '../src/model/event.ts';
import { eventSchema } from '../src/model/event.ts';
import type { ContainerView, ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { docker } from './support/docker.ts';
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

async function events(service: string): Promise<SkiffEvent[]> {
  return eventSchema.array().parse((await skiff.api('GET', `/api/events?service=${service}`)).body);
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

  // The demo image stops on SIGTERM; its -noterm twin, like many real images, has a PID 1 that
  // ignores it, so the replaced container lingers until SIGKILL.
  for (const image of ['skiff-demo:v1', 'skiff-demo:v1-noterm']) {
    const name = image.endsWith('-noterm') ? 'web-noterm' : 'web';
    test(`an HTTP check that starts failing gets the replica replaced, healthy again (${image})`, async () => {
      await deploy({
        name,
        image,
        replicas: 2,
        ports: [{ container_port: 8080 }],
        health_check: {
          type: 'http',
          endpoint: 'http://localhost:8080/health',
          interval: '300ms',
          retries: 2,
        },
      });
      const healthy = await eventually('both replicas healthy', async () => {
        const v = await view(name);
        return v.healthy === 2 && v.status === 'running' ? v : undefined;
      });
      const ps = await skiff.cli(['ps']);
      assert.match(ps.stdout, new RegExp(`${name}\\s+running\\s+2/2\\s+healthy`));

      const sick = healthy.containers.find((c) => c.slot === 1);
      const port = sick?.ports[0]?.host_port;
      assert.ok(sick?.id && port);
      assert.equal((await fetch(`http://127.0.0.1:${port}/cgi-bin/sick`)).status, 200);

      const replaced = await replica(
        name,
        1,
        (c) => c.id !== sick.id && c.health === 'healthy' && c.restart_count === 1,
      );
      assert.equal(replaced.status, 'running');
      // One story per replacement, each line naming the container it is about.
      const slot = `${name}-1`;
      const story = await eventually('the replacement story', async () => {
        const lines = (await events(name)).filter((e) => e.container === slot).map((e) => e.message);
        const from = lines.indexOf(`Container ${slot} (${sick.id}) failed health check`);
        const tail = from < 0 ? [] : lines.slice(from);
        return tail.length >= 4 ? tail : undefined;
      });
      assert.deepEqual(story, [
        `Container ${slot} (${sick.id}) failed health check`,
        `Restarting ${slot} (${sick.id})...`,
        `Container ${slot} (${replaced.id}) started`,
        `Container ${slot} (${replaced.id}) healthy`,
      ]);
      const messages = (await events(name)).map((e) => e.message);
      assert.ok(
        !messages.some((m) => m.startsWith(`Container ${name}-0`) && m.includes('failed health check')),
        'the other replica was left alone',
      );
      assert.equal((await skiff.api('DELETE', `/api/services/${name}`)).status, 200);
    });
  }

  test('one failed check of a SIGTERM-ignoring replica: replaced once, then settled for 30 s', async () => {
    // The reproduction of issue 8: 3 replicas, interval 1s, retries 2, one health file removed.
    await deploy({
      name: 'churn',
      image: 'skiff-demo:v1-noterm',
      replicas: 3,
      health_check: { type: 'http', endpoint: 'http://localhost:8080/health', interval: '1s', retries: 2 },
    });
    const healthy = await eventually('3 healthy replicas', async () => {
      const v = await view('churn');
      return v.healthy === 3 ? v : undefined;
    });
    const sick = healthy.containers.find((c) => c.slot === 0);
    const sickId = sick?.id;
    assert.ok(sickId);
    const full = (await skiff.containers('churn')).find((c) => c.id.startsWith(sickId));
    assert.ok(full);
    const exec = await docker.getContainer(full.id).exec({ Cmd: ['rm', '/www/health'] });
    await exec.start({});
    const settled = await eventually(
      'churn-0 replaced and healthy',
      async () => {
        const v = await view('churn');
        const slot0 = v.containers.find((c) => c.slot === 0);
        return v.healthy === 3 && slot0 && slot0.id !== sickId && slot0.restart_count === 1 ? v : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const ids = settled.containers.map((c) => `${c.slot}:${c.id}`).sort();
    // Well past the old container's grace period (10 s, then SIGKILL): nothing moves.
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const v = await view('churn');
      assert.deepEqual(
        v.containers.map((c) => `${c.slot}:${c.id}`).sort(),
        ids,
        'the same containers, none replaced',
      );
      for (const c of v.containers) {
        assert.equal(c.status, 'running', `${c.name} is ${c.status}`);
        assert.equal(c.restart_count, c.slot === 0 ? 1 : 0, `${c.name} restarts`);
      }
      const engine = await skiff.containers('churn');
      assert.ok(engine.length <= 4, `at most the old container lingers: ${engine.length}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const restarts = (await events('churn')).filter((e) => e.message.startsWith('Restarting '));
    assert.equal(restarts.length, 1, JSON.stringify(restarts.map((e) => e.message)));
    assert.equal((await skiff.containers('churn')).length, 3, 'the old container is gone');
    assert.equal((await skiff.api('DELETE', '/api/services/churn')).status, 200);
  });

  test('init: true stops a SIGTERM-ignoring image at once', async () => {
    // The same image without an init waits out the whole grace period (30 s here) before SIGKILL.
    await deploy({
      name: 'tini',
      image: 'skiff-demo:v1-noterm',
      init: true,
      stop_grace_period: '30s',
      update: { drain_timeout: '0s' },
    });
    const running = await replica('tini', 0, (c) => c.status === 'running');
    const [container] = await skiff.containers('tini');
    assert.ok(container);
    assert.ok(container.id.startsWith(running.id ?? '-'));
    assert.equal((await docker.getContainer(container.id).inspect()).HostConfig.Init, true);
    const t0 = Date.now();
    assert.equal((await skiff.api('POST', '/api/services/tini/scale', { replicas: 0 })).status, 200);
    await eventually('the replica to be gone', async () => (await skiff.containers('tini')).length === 0, {
      timeoutMs: 30_000,
    });
    const ms = Date.now() - t0;
    assert.ok(ms < 5_000, `stopped after ${ms} ms: SIGTERM reached the process through the init`);
    assert.equal((await skiff.api('DELETE', '/api/services/tini')).status, 200);
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
      if (/^Container crashy-0 \([0-9a-f]{12}\) exited with code 3$/.test(event.message)) {
        exitedAt = Date.parse(event.timestamp);
      }
      if (event.message.startsWith('Restarting crashy-0 (') && exitedAt !== undefined) {
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
    // The engine may report the death before the OOM kill behind it; the account is corrected.
    const dead = await replica('hog', 0, (c) => c.status === 'exited' && c.message === 'OOM killed');
    assert.equal(dead.exit_code, 137);
    const messages = (await events('hog')).map((e) => e.message);
    assert.ok(
      messages.some((m) => /^Container hog-0 \([0-9a-f]{12}\) was killed: out of memory \(OOM\)$/.test(m)),
      JSON.stringify(messages),
    );
  });
});
