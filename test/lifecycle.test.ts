/**
 * One machine, real engine: deploy with limits, scale up and down, logs, events, crash
 * replacement, pull failure, removal, through both the CLI and the REST API; scale-down and a
 * rolling update of an image whose PID 1 ignores SIGTERM.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { eventSchema } from '../src/model/event.ts';
import type { ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { docker } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let skiff: SkiffCluster;

async function service(name: string): Promise<ServiceView> {
  const { status, body } = await skiff.api('GET', `/api/services/${name}`);
  assert.equal(status, 200, JSON.stringify(body));
  return serviceViewSchema.parse(body);
}

async function running(name: string): Promise<string[]> {
  return (await skiff.containers(name)).filter((c) => c.state === 'running').map((c) => c.name);
}

describe('a service on one machine', { timeout: 240_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('up');
  });
  after(async () => {
    await skiff?.stop();
  });

  test('deploy from the CLI runs 3 replicas with the requested limits', async () => {
    const result = await skiff.cli([
      'deploy',
      '--name',
      'web',
      '--image',
      'skiff-demo:v1',
      '--replicas',
      '3',
      '--port',
      '8080',
      '--memory',
      '64m',
      '--cpus',
      '0.25',
      '--cpu-shares',
      '512',
      '--env',
      'GREETING=hi',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /web\s+running\s+3\/3\s+healthy/);

    const containers = await skiff.containers('web');
    assert.equal(containers.length, 3);
    assert.deepEqual(containers.map((c) => c.slot).sort(), [0, 1, 2]);
    for (const c of containers) {
      const inspect = await docker.getContainer(c.id).inspect();
      assert.equal(inspect.HostConfig.Memory, 64 * 1024 * 1024);
      assert.equal(inspect.HostConfig.NanoCpus, 250_000_000);
      assert.equal(inspect.HostConfig.CpuShares, 512);
      assert.ok(inspect.Config.Env.includes('GREETING=hi'));
      assert.match(c.name, /^web-[0-2]\.[0-9a-f]{12}$/);
    }

    const view = await service('web');
    assert.equal(view.status, 'running');
    const slot0 = view.containers.find((c) => c.name === 'web-0');
    const hostPort = slot0?.ports[0]?.host_port;
    assert.ok(hostPort, 'a dynamic host port was published');
    const page = await eventually('the replica to serve', async () => {
      const response = await fetch(`http://127.0.0.1:${hostPort}/`);
      return response.ok ? await response.text() : undefined;
    });
    assert.match(page, /hello from web-0 version v1/);
  });

  test('ps shows the spec columns and per-replica rows', async () => {
    const table = await skiff.cli(['ps']);
    assert.equal(table.code, 0, table.stderr);
    const [header, row] = table.stdout.trim().split('\n');
    assert.deepEqual(header?.split(/\s+/), ['NAME', 'STATUS', 'REPLICAS', 'HEALTH']);
    assert.deepEqual(row?.split(/\s+/), ['web', 'running', '3/3', 'healthy']);

    const detail = await skiff.cli(['ps', 'web']);
    assert.match(detail.stdout, /web-0\s+[0-9a-f]{12}\s+\S+\s+running/);
    const json = await skiff.cli(['ps', '--json']);
    assert.equal(JSON.parse(json.stdout)[0].name, 'web');
  });

  test('scale to 5 and back to 1 removes the highest slots', async () => {
    const up = await skiff.cli(['scale', 'web', '--replicas', '5']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await running('web')).length, 5);

    const down = await skiff.cli(['scale', 'web', '--replicas', '1']);
    assert.equal(down.code, 0, down.stderr);
    const left = await eventually('scale-down to finish', async () => {
      const all = await skiff.containers('web');
      return all.length === 1 ? all : undefined;
    });
    assert.equal(left[0]?.slot, 0);
  });

  test('logs come from the replicas, prefixed with their names', async () => {
    await skiff.cli(['scale', 'web', '--replicas', '2']);
    const logs = await eventually('logs of both replicas', async () => {
      const result = await skiff.cli(['logs', 'web', '--tail', '20']);
      return result.stdout.includes('web-1 |') && result.stdout.includes('web-0 |')
        ? result.stdout
        : undefined;
    });
    assert.match(logs, /web-0\s*\| demo v1 starting as web-0 on port 8080/);

    const response = await fetch(`${skiff.url}/api/services/web/logs?tail=1&format=ndjson`, {
      headers: { authorization: `Bearer ${skiff.token}` },
    });
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 2, 'one line per replica with tail=1');
  });

  test('events record each lifecycle step in the spec shape', async () => {
    const { body } = await skiff.api('GET', '/api/events?service=web');
    const events = (body as unknown[]).map((e) => eventSchema.parse(e));
    const messages = events.map((e) => e.message);
    const id = '\\([0-9a-f]{12}\\)';
    for (const expected of [
      /^Service web created: 3 replica\(s\) of skiff-demo:v1 \(by token admin\)$/,
      new RegExp(`^Container web-0 ${id} started$`),
      /^Scaled web from 3 to 5 replica\(s\) \(by token admin\)$/,
      new RegExp(`^Container web-4 ${id} stopped$`),
    ]) {
      assert.ok(
        messages.some((m) => expected.test(m)),
        `missing event ${expected} in ${JSON.stringify(messages)}`,
      );
    }
    const started = messages.filter((m) => new RegExp(`^Container web-0 ${id} started$`).test(m));
    assert.equal(started.length, 1, 'one start, one event');
    const cli = await skiff.cli(['events', '--service', 'web']);
    assert.match(cli.stdout, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] Service web created/m);
  });

  test('a killed container is replaced by a fresh one in the same slot', async () => {
    const before = (await skiff.containers('web')).find((c) => c.slot === 0);
    assert.ok(before);
    await docker.getContainer(before.id).kill();
    const replacement = await eventually('a new web-0 container', async () => {
      const now = (await skiff.containers('web')).find((c) => c.slot === 0 && c.state === 'running');
      return now && now.id !== before.id ? now : undefined;
    });
    assert.equal(replacement.task, before.task, 'same task, new container');
    const view = await eventually('the restart to be reported', async () => {
      const v = await service('web');
      return v.containers.find((c) => c.name === 'web-0' && c.restart_count === 1 && c.status === 'running');
    });
    assert.equal(view.id, replacement.id.slice(0, 12));
    const { body } = await skiff.api('GET', '/api/events?service=web');
    const messages = (body as { message: string }[]).map((e) => e.message);
    const old = before.id.slice(0, 12);
    assert.ok(messages.includes(`Container web-0 (${old}) exited with code 137`), JSON.stringify(messages));
    assert.ok(messages.includes(`Restarting web-0 (${old})...`));
    assert.ok(messages.includes(`Container web-0 (${replacement.id.slice(0, 12)}) started`));
  });

  test('an image that cannot be pulled fails clearly, without a tight retry loop', async () => {
    const result = await skiff.cli([
      'deploy',
      '--name',
      'broken',
      '--image',
      '127.0.0.1:1/none:latest',
      '--timeout',
      '60s',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /broken failed: broken-0: .*pull 127\.0\.0\.1:1\/none:latest/);

    const view = await service('broken');
    assert.equal(view.status, 'failed');
    const replica = view.containers[0];
    assert.equal(replica?.status, 'failed');
    assert.ok(replica?.retry_at, 'the next retry time is shown');
    // Keep watching for a few seconds' worth of retries: the backoff doubles, so the attempts
    // (each a "Pulling image" event) stay few.
    await eventually('a second attempt', async () => {
      const { body } = await skiff.api('GET', '/api/events?service=broken');
      return (body as { message: string }[]).filter((e) => e.message.startsWith('Pulling image')).length >= 2;
    });
    const { body } = await skiff.api('GET', '/api/events?service=broken');
    const messages = (body as { message: string }[]).map((e) => e.message);
    assert.ok(messages.filter((m) => m.startsWith('Pulling image')).length <= 4, JSON.stringify(messages));
    assert.equal(
      messages.filter((m) => m.startsWith('Failed to start broken-0')).length,
      1,
      'one event per distinct failure',
    );
    assert.equal((await skiff.api('DELETE', '/api/services/broken')).status, 200);
  });

  test("publishing the server's own port is refused at deploy, naming it", async () => {
    const refused = await skiff.api('POST', '/api/deploy', {
      name: 'clash',
      image: 'skiff-demo:v1',
      ports: [{ container_port: 8080, host_port: skiff.port, app_protocol: 'http' }],
    });
    assert.equal(refused.status, 409);
    assert.match((refused.body as { error: string }).error, /Skiff server's own port/);
  });

  test('a published port a host process holds is refused and reported as an event, naming the owner', async () => {
    // Another process on this host (this test) holds the port on 127.0.0.1: the agent checks the
    // host's listening sockets before it claims a published port, and leaves this one alone.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const deployed = await skiff.api('POST', '/api/deploy', {
        name: 'clash',
        image: 'skiff-demo:v1',
        ports: [{ container_port: 8080, host_port: port, app_protocol: 'http' }],
      });
      assert.equal(deployed.status, 201);
      const event = await eventually('the networking problem event', async () => {
        const { body } = await skiff.api('GET', '/api/events');
        return (body as { message: string; node: string | null }[]).find((e) =>
          /networking: .*clash: not publishing/.test(e.message),
        );
      });
      assert.match(
        event.message,
        new RegExp(
          `clash: not publishing port ${port}/tcp is held by \\S+ \\(pid ${process.pid}\\) on 127\\.0\\.0\\.1`,
        ),
      );
      assert.ok(event.node, 'the event names the node');
      assert.equal((await skiff.api('DELETE', '/api/services/clash')).status, 200);
    } finally {
      holder.close();
    }
  });

  test('a SIGTERM-ignoring image: scale-down and a rolling update settle, nothing restarts', async () => {
    // Each stop of this image waits out the grace period and ends in SIGKILL (exit 137): none of
    // those deaths may count against a replica. A short grace keeps the test quick.
    const spec = {
      name: 'stubborn',
      image: 'skiff-demo:v1-noterm',
      replicas: 3,
      stop_grace_period: '2s',
      health_check: { type: 'http', endpoint: 'http://localhost:8080/health', interval: '300ms', retries: 2 },
      update: { min_healthy_time: '500ms' },
    };
    assert.equal((await skiff.api('POST', '/api/deploy', spec)).status, 201);
    await eventually('3 healthy', async () => (await service('stubborn')).healthy === 3);
    assert.equal((await skiff.api('POST', '/api/services/stubborn/scale', { replicas: 1 })).status, 200);
    const left = await eventually('scale-down to finish', async () => {
      const all = await skiff.containers('stubborn');
      return all.length === 1 ? all : undefined;
    });
    assert.equal(left[0]?.slot, 0);

    const updated = await skiff.api('POST', '/api/deploy', {
      ...spec,
      replicas: 1,
      image: 'skiff-demo:v2-noterm',
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    const rolled = await eventually(
      'the rollout to finish, the old replica gone',
      async () => {
        const v = await service('stubborn');
        const engine = await skiff.containers('stubborn');
        return v.status === 'running' && v.revision === 2 && engine.length === 1 ? v : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(rolled.containers.length, 1);
    assert.equal(rolled.containers[0]?.revision, 2);
    assert.equal(rolled.containers[0]?.restart_count, 0);
    const { body } = await skiff.api('GET', '/api/events?service=stubborn');
    const messages = (body as { message: string }[]).map((e) => e.message);
    assert.ok(!messages.some((m) => m.startsWith('Restarting ')), JSON.stringify(messages));
    assert.equal((await skiff.api('DELETE', '/api/services/stubborn')).status, 200);
  });

  test('rm removes the service and its containers', async () => {
    const result = await skiff.cli(['rm', 'web']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /removed web/);
    await eventually('containers to be gone', async () => (await skiff.containers('web')).length === 0);
    assert.equal((await skiff.api('GET', '/api/services/web')).status, 404);
    const cli = await skiff.cli(['ps', 'web']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /service web not found/);
  });
});
