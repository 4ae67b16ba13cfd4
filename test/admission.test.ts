/**
 * Roles and the admission policy on the real engine: a viewer token reads but cannot deploy; a
 * privileged spec is refused with the field named; an allowed `cap_add: [NET_ADMIN]` exception
 * reaches the container (engine inspect, and the capability is effective inside it); and a real
 * agent, sent a privileged task directly by a server that skipped the check, refuses to create it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LoopReport } from '../src/agent/converge-loop.ts';
import { ConvergeLoop } from '../src/agent/converge-loop.ts';
import { DockerEngine } from '../src/docker/docker-engine.ts';
import { createdTokenViewSchema } from '../src/model/access-views.ts';
import { DEFAULT_POOL } from '../src/model/addressing.ts';
import { serviceSpecSchema } from '../src/model/service-spec.ts';
import type { ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { containersOf, docker, execIn, removeCluster } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

/** NET_ADMIN is capability 12: bit 12 of the CapEff mask in /proc/PID/status. */
const CAP_NET_ADMIN_BIT = 12n;

describe('roles and admission on a real cluster', { timeout: 180_000 }, () => {
  let skiff: SkiffCluster;
  before(async () => {
    skiff = await SkiffCluster.start('up');
  });
  after(async () => {
    await skiff?.stop();
  });

  test('a viewer token gets 403 on deploy and 200 on ps', async () => {
    const created = await skiff.api('POST', '/api/tokens', { name: 'grafana', role: 'viewer' });
    assert.equal(created.status, 201);
    const { token } = createdTokenViewSchema.parse(created.body);
    const deploy = await fetch(`${skiff.url}/api/deploy`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'web', image: 'skiff-demo:v1' }),
    });
    assert.equal(deploy.status, 403);
    assert.match(await deploy.text(), /needs role operator/);
    const ps = await skiff.cli(['ps', '--token', token]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /^NAME\s+STATUS/);
  });

  test('a privileged spec is refused with the field and the rule named', async () => {
    const res = await skiff.api('POST', '/api/deploy', {
      name: 'root',
      image: 'skiff-demo:v1',
      privileged: true,
    });
    assert.equal(res.status, 403);
    assert.match(JSON.stringify(res.body), /privileged: a privileged container \(baseline\/privileged/);
    assert.deepEqual(await skiff.containers('root'), []);
  });

  test('an allowed cap_add: [NET_ADMIN] reaches the container and is effective in it', async () => {
    const refused = await skiff.api('POST', '/api/deploy', {
      name: 'netadmin',
      image: 'skiff-demo:v1',
      cap_add: ['NET_ADMIN'],
    });
    assert.equal(refused.status, 403);
    const allowed = await skiff.cli(['policy', 'allow', 'netadmin', 'cap:NET_ADMIN']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /netadmin: cap:NET_ADMIN/);
    const res = await skiff.api('POST', '/api/deploy', {
      name: 'netadmin',
      image: 'skiff-demo:v1',
      cap_add: ['NET_ADMIN'],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const running: ServiceView = await eventually('netadmin running', async () => {
      const view = serviceViewSchema.parse((await skiff.api('GET', '/api/services/netadmin')).body);
      return view.containers.some((c) => c.status === 'running' && c.id) ? view : undefined;
    });
    const id = running.containers.find((c) => c.status === 'running')?.id;
    assert.ok(id);
    const inspect = await docker.getContainer(id).inspect();
    assert.deepEqual(inspect.HostConfig.CapAdd, ['NET_ADMIN']);
    const { out: status } = await execIn(id, 'cat /proc/1/status');
    const capEff = /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1];
    assert.ok(capEff, status);
    assert.equal((BigInt(`0x${capEff}`) >> CAP_NET_ADMIN_BIT) & 1n, 1n, `CapEff ${capEff} lacks NET_ADMIN`);
  });
});

describe('the agent enforces the policy itself', { timeout: 120_000 }, () => {
  // The agent's own converge loop on the real engine, handed the desired set directly: what a
  // server that skipped the admission check would send (its link is mutual TLS, so a fake server
  // would need the whole join; the loop is where the check lives).
  const clusterId = `admission-test-${process.pid}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-admission-agent-'));
  const reports: LoopReport[] = [];
  let loop: ConvergeLoop | undefined;

  before(() => {
    loop = new ConvergeLoop({
      engine: new DockerEngine(),
      clusterId,
      pool: DEFAULT_POOL,
      nodeId: 'node-1',
      concurrency: 4,
      resyncIntervalMs: 1000,
      stableAfterMs: 10_000,
      now: Date.now,
      onReport: (report) => reports.push(report),
      onError: () => {},
      secretsDir: join(dataDir, 'secrets'),
    });
    loop.start();
    loop.setDesired(
      [
        {
          task_id: 'evil0000000000000001',
          service: 'evil',
          slot: 0,
          revision: 1,
          spec: serviceSpecSchema.parse({
            name: 'evil',
            image: 'skiff-demo:v1',
            privileged: true,
            pid_mode: 'host',
          }),
          networks: [{ name: 'default', index: 200 }],
        },
      ],
      { fromServer: true },
    );
  });
  after(async () => {
    loop?.stop();
    await removeCluster(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a privileged task sent directly is failed with the reason and never created', async () => {
    const event = await eventually(
      'the agent to report the refusal',
      async () =>
        reports
          .flatMap((r) => r.events)
          .find((e) => /refused by the agent's admission check/.test(e.message)),
      { timeoutMs: 30_000 },
    );
    assert.match(
      event.message,
      /^Failed to start evil-0: refused by the agent's admission check: privileged: /,
    );
    assert.match(event.message, /pid_mode: the host's namespace/);
    const observed = reports
      .flatMap((r) => r.tasks)
      .filter((t) => t.task_id === 'evil0000000000000001')
      .at(-1);
    assert.ok(observed, 'no observation of the task');
    assert.notEqual(observed.state, 'running');
    assert.deepEqual(await containersOf(clusterId, 'evil'), [], 'no container was created');
  });
});
