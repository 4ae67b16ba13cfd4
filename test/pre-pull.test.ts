/**
 * One machine, real engine: a rollout's pull phase. A rollout to an image that cannot be pulled
 * (a registry on a loopback port nothing listens on) fails, or rolls back, before any old replica
 * stops, even under a stop-first policy that would otherwise stop one first (shown beside it with
 * `pre_pull: false`); a rollout to a good image runs its pull phase and completes. Images whose
 * PID 1 ignores SIGTERM, so a stop is slow and cannot go unseen.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { docker } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let skiff: SkiffCluster;
/** An image reference on a loopback registry port nothing listens on. */
let unpullable: string;

async function service(name: string): Promise<ServiceView> {
  const { status, body } = await skiff.api('GET', `/api/services/${name}`);
  assert.equal(status, 200, JSON.stringify(body));
  return serviceViewSchema.parse(body);
}

/** A loopback port free now: bound, read and closed, so nothing listens there. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Stop-first, one at a time: without a pull phase the first old replica stops before anything pulls. */
function spec(name: string, update: Record<string, unknown> = {}) {
  return {
    name,
    image: 'skiff-demo:v1-noterm',
    replicas: 2,
    stop_grace_period: '2s',
    health_check: { type: 'http', endpoint: 'http://localhost:8080/health', interval: '300ms', retries: 2 },
    update: { max_surge: 0, max_unavailable: 1, min_healthy_time: '300ms', ...update },
  };
}

/** Deploys v1 and waits until both replicas are healthy; returns their container ids. */
async function deployV1(body: ReturnType<typeof spec>): Promise<string[]> {
  const created = await skiff.api('POST', '/api/deploy', body);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await eventually(`${body.name}: 2 healthy`, async () => (await service(body.name)).healthy === 2);
  return (await skiff.containers(body.name)).map((c) => c.id).sort();
}

/** The ids of the service's running containers on the engine. */
async function runningIds(name: string): Promise<string[]> {
  return (await skiff.containers(name))
    .filter((c) => c.state === 'running')
    .map((c) => c.id)
    .sort();
}

async function messages(name: string): Promise<string[]> {
  const { body } = await skiff.api('GET', `/api/events?service=${name}`);
  return (body as { message: string }[]).map((e) => e.message);
}

describe('pre-pull before a rollout', { timeout: 240_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('up');
    unpullable = `127.0.0.1:${await closedPort()}/pp-none:v2`;
  });
  after(async () => {
    await skiff?.stop();
  });

  test('an image that cannot be pulled rolls back before any old replica stops', async () => {
    const body = spec('pp-rollback');
    const before = await deployV1(body);
    const started = await Promise.all(
      before.map(async (id) => (await docker.getContainer(id).inspect()).State.StartedAt),
    );
    const updated = await skiff.api('POST', '/api/deploy', { ...body, image: unpullable });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    const rolled = await eventually(
      'the rollout to roll back',
      async () => {
        const view = await service('pp-rollback');
        return view.rollout?.state === 'rolled_back' ? view : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(rolled.revision, 1, 'back on the old revision');
    assert.match(
      rolled.rollout?.message ?? '',
      /^image 127\.0\.0\.1:\d+\/pp-none:v2 could not be pulled on /,
    );
    const pull = rolled.rollout?.pull;
    assert.equal(pull?.state, 'failed');
    assert.equal(pull?.nodes.length, 1);
    assert.equal(pull?.nodes[0]?.state, 'failed');
    assert.match(pull?.nodes[0]?.message ?? '', /pull 127\.0\.0\.1:\d+\/pp-none:v2/);

    // The very containers of before, never stopped: the same ids, started when they were.
    assert.deepEqual(await runningIds('pp-rollback'), before);
    const now = await Promise.all(
      before.map(async (id) => (await docker.getContainer(id).inspect()).State.StartedAt),
    );
    assert.deepEqual(now, started);
    const events = await messages('pp-rollback');
    assert.ok(
      events.some((m) => /^Pulling image 127\.0\.0\.1:\d+\/pp-none:v2 on 1 node before replacing/.test(m)),
      JSON.stringify(events),
    );
    assert.ok(!events.some((m) => /stopped|Stopping/.test(m)), JSON.stringify(events));

    const status = await skiff.cli(['rollout', 'status', 'pp-rollback']);
    assert.equal(status.code, 1, 'a rolled-back rollout exits 1');
    assert.match(
      status.stdout,
      /pp-rollback: rollout rolled back \(revision 1 → revision 2\): image .* could not be pulled/,
    );
    assert.match(status.stdout, /pull phase: failed 127\.0\.0\.1:\d+\/pp-none:v2, 0\/1 node has it/);
    assert.match(status.stdout, /\n {2}\S+\s+failed\s+\d+\.\ds\s+pull 127\.0\.0\.1:\d+\/pp-none:v2/);
    assert.equal((await skiff.api('DELETE', '/api/services/pp-rollback')).status, 200);
  });

  test('with auto_rollback off the rollout fails, and the old replicas go on serving', async () => {
    const body = spec('pp-failed', { auto_rollback: false });
    const before = await deployV1(body);
    assert.equal((await skiff.api('POST', '/api/deploy', { ...body, image: unpullable })).status, 200);
    const failed = await eventually(
      'the rollout to fail',
      async () => {
        const view = await service('pp-failed');
        return view.rollout?.state === 'failed' ? view : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(failed.revision, 2, 'it waits on the new revision for a fix or an undo');
    assert.equal(failed.rollout?.pull?.state, 'failed');
    // Watched over a few controller ticks (250 ms each): the failed rollout goes no further.
    for (let look = 0; look < 8; look++) {
      assert.deepEqual(await runningIds('pp-failed'), before, `look ${look}`);
      assert.equal((await skiff.containers('pp-failed')).length, 2, 'no successor was created');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The undo starts another rollout, back to revision 1, whose replicas are the old ones.
    const undo = await skiff.cli(['rollout', 'undo', 'pp-failed', '--timeout', '60s']);
    assert.equal(undo.code, 0, undo.stderr);
    assert.deepEqual(await runningIds('pp-failed'), before);
    assert.equal((await skiff.api('DELETE', '/api/services/pp-failed')).status, 200);
  });

  test('without pre-pull the same stop-first rollout stops an old replica before the pull fails', async () => {
    // The case the pull phase exists for, shown happening: the test above would see it.
    const body = spec('pp-nopull', { pre_pull: false });
    const before = await deployV1(body);
    assert.equal((await skiff.api('POST', '/api/deploy', { ...body, image: unpullable })).status, 200);
    await eventually(
      'an old replica to be stopped',
      async () => (await runningIds('pp-nopull')).filter((id) => before.includes(id)).length < 2,
      { timeoutMs: 30_000 },
    );
    assert.equal((await service('pp-nopull')).rollout?.pull, undefined, 'no pull phase');
    assert.equal((await skiff.api('DELETE', '/api/services/pp-nopull')).status, 200);
  });

  test('a rollout to a good image runs its pull phase, then replaces the replicas', async () => {
    const body = spec('pp-good');
    await deployV1(body);
    const updated = await skiff.api('POST', '/api/deploy', { ...body, image: 'skiff-demo:v2-noterm' });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    const done = await eventually(
      'the rollout to complete',
      async () => {
        const view = await service('pp-good');
        return view.rollout?.state === 'complete' && view.containers.length === 2 ? view : undefined;
      },
      { timeoutMs: 90_000 },
    );
    assert.ok(done.containers.every((c) => c.revision === 2));
    const pull = done.rollout?.pull;
    assert.equal(pull?.state, 'done');
    assert.equal(pull?.image, 'skiff-demo:v2-noterm');
    assert.deepEqual(
      pull?.nodes.map((n) => n.state),
      ['pulled'],
    );
    const events = await messages('pp-good');
    const phaseDone = events.findIndex((m) => /^Image skiff-demo:v2-noterm is on 1 node after/.test(m));
    assert.ok(phaseDone >= 0, JSON.stringify(events));
    const status = await skiff.cli(['rollout', 'status', 'pp-good']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /pull phase: done skiff-demo:v2-noterm, 1\/1 node has it/);
    assert.match(status.stdout, /\n {2}\S+\s+pulled\s+\d+\.\ds/);
    assert.equal((await skiff.api('DELETE', '/api/services/pp-good')).status, 200);
  });
});
