import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import { ConvergeLoop } from '../agent/converge-loop.ts';
import { containerDefinition } from '../docker/container-definition.ts';
import type { EngineEvent } from '../docker/container-engine.ts';
import { EngineError } from '../docker/container-engine.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import type { ServiceSpecInput } from '../model/service-spec.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { VirtualClock } from './clock.ts';
import { FakeEngine, fakeImageId } from './fake-engine.ts';
import { seededRandom } from './random.ts';

const CLUSTER = 'cluster-a';
const ADDRESSING = { clusterId: CLUSTER, pool: DEFAULT_POOL };

function task(id: string, slot = 0, overrides: Partial<ServiceSpecInput> = {}): TaskSpec {
  return {
    task_id: id,
    service: 'web',
    slot,
    revision: 1,
    spec: serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', ...overrides }),
    networks: [{ name: 'default', index: 0 }],
  };
}

function watch(engine: FakeEngine, clusterId = CLUSTER): { events: EngineEvent[]; stop: () => void } {
  const events: EngineEvent[] = [];
  const controller = new AbortController();
  void engine.watchEvents(clusterId, (e) => events.push(e), controller.signal);
  return { events, stop: () => controller.abort() };
}

/** Lets delivered-on-a-microtask events arrive. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

test('a created and started container is listed by its labels and its events reach its cluster only', async () => {
  const engine = new FakeEngine();
  const mine = watch(engine);
  const other = watch(engine, 'cluster-b');
  const id = await engine.createContainer(containerDefinition(task('t1', 2), ADDRESSING));
  await engine.startContainer(id);
  await flush();
  const [listed] = await engine.listManaged(CLUSTER);
  assert.equal(listed?.id, id);
  assert.equal(listed?.taskId, 't1');
  assert.equal(listed?.service, 'web');
  assert.equal(listed?.slot, 2);
  assert.equal(listed?.state, 'running');
  assert.match(listed?.ip ?? '', /^10\.240\.0\.\d+$/);
  assert.deepEqual(await engine.listManaged('cluster-b'), []);
  assert.deepEqual(
    mine.events.map((e) => [e.action, e.taskId]),
    [
      ['create', 't1'],
      ['start', 't1'],
    ],
  );
  assert.deepEqual(other.events, []);
  mine.stop();
  other.stop();
});

test('a start delay holds the container in created until the clock passes it', async () => {
  const clock = new VirtualClock(1_000);
  const engine = new FakeEngine({ clock, startDelayMs: 300 });
  const id = await engine.createContainer(containerDefinition(task('t1'), ADDRESSING));
  let started = false;
  const starting = engine.startContainer(id).then(() => {
    started = true;
  });
  await clock.advance(299);
  assert.equal(started, false);
  assert.equal((await engine.listManaged(CLUSTER))[0]?.state, 'created');
  await clock.advance(1);
  await starting;
  const [listed] = await engine.listManaged(CLUSTER);
  assert.equal(listed?.state, 'running');
  assert.equal(clock.now(), 1_300);
});

test('running slots: each running container once as service/slot, as the snapshot tells them', async () => {
  const engine = new FakeEngine();
  const ids: string[] = [];
  for (const [id, slot] of [
    ['t1', 0],
    ['t2', 1],
    ['t3', 1],
    ['t4', 2],
  ] as const) {
    ids.push(await engine.createContainer(containerDefinition(task(id, slot), ADDRESSING)));
  }
  for (const id of ids.slice(0, 3)) await engine.startContainer(id);
  engine.kill(ids[0] ?? '');
  const slots = new Set<string>();
  engine.addRunningSlots(slots);
  assert.deepEqual(
    [...slots].sort(),
    ['web/1'],
    'killed and created ones are not running; two in slot 1 are one',
  );
  const fromSnapshot = new Set(
    engine
      .snapshot()
      .filter((c) => c.state === 'running')
      .map((c) => `${c.service}/${c.slot}`),
  );
  assert.deepEqual(slots, fromSnapshot);
});

test('a killed container dies with its exit code, reported by a die event and in the list', async () => {
  const engine = new FakeEngine();
  const { events, stop } = watch(engine);
  const id = await engine.createContainer(containerDefinition(task('t1'), ADDRESSING));
  await engine.startContainer(id);
  assert.equal(engine.kill(id, { oom: true }), true);
  await flush();
  const [listed] = await engine.listManaged(CLUSTER);
  assert.equal(listed?.state, 'exited');
  assert.equal(listed?.exitCode, 137);
  assert.equal(listed?.oomKilled, true);
  assert.deepEqual(
    events.slice(-2).map((e) => [e.action, e.exitCode]),
    [
      ['oom', null],
      ['die', 137],
    ],
  );
  assert.equal(engine.kill(id), false, 'a dead container cannot be killed again');
  stop();
});

test('stop honours SIGTERM (exit 0), or waits out the grace period for an image that ignores it (137)', async () => {
  const polite = new FakeEngine();
  const a = await polite.createContainer(containerDefinition(task('t1'), ADDRESSING));
  await polite.startContainer(a);
  await polite.stopContainer(a);
  assert.equal((await polite.listManaged(CLUSTER))[0]?.exitCode, 0);

  const clock = new VirtualClock();
  const stubborn = new FakeEngine({ clock, ignoresSigterm: true });
  const b = await stubborn.createContainer(
    containerDefinition(task('t2', 0, { stop_grace_period: '4s' }), ADDRESSING),
  );
  await stubborn.startContainer(b);
  const stopping = stubborn.stopContainer(b);
  await clock.advance(3_999);
  assert.equal((await stubborn.listManaged(CLUSTER))[0]?.state, 'running');
  await clock.advance(1);
  await stopping;
  const [listed] = await stubborn.listManaged(CLUSTER);
  assert.equal(listed?.state, 'exited');
  assert.equal(listed?.exitCode, 137);
});

test('removing a running container kills it then destroys it; removing a missing one is fine', async () => {
  const engine = new FakeEngine();
  const { events, stop } = watch(engine);
  const id = await engine.createContainer(containerDefinition(task('t1'), ADDRESSING));
  await engine.startContainer(id);
  await engine.removeContainer(id);
  await engine.removeContainer(id);
  await flush();
  assert.deepEqual(await engine.listManaged(CLUSTER), []);
  assert.deepEqual(
    events.map((e) => e.action),
    ['create', 'start', 'die', 'destroy'],
  );
  stop();
});

test('the engine refuses what Docker refuses: a taken name (409), an unknown container (404), a taken host port', async () => {
  const engine = new FakeEngine();
  const definition = containerDefinition(task('t1'), ADDRESSING);
  await engine.createContainer(definition);
  await assert.rejects(
    engine.createContainer(definition),
    (e) => e instanceof EngineError && e.status === 409,
  );
  await assert.rejects(engine.startContainer('nope'), (e) => e instanceof EngineError && e.status === 404);

  const hostMode = { ports: [{ container_port: 80, host_port: 8080, mode: 'host' as const }] };
  const first = await engine.createContainer(containerDefinition(task('p1', 0, hostMode), ADDRESSING));
  const second = await engine.createContainer(containerDefinition(task('p2', 1, hostMode), ADDRESSING));
  await engine.startContainer(first);
  await assert.rejects(engine.startContainer(second), /port is already allocated/);
  const [published] = (await engine.listManaged(CLUSTER)).filter((c) => c.id === first);
  assert.deepEqual(published?.ports, [{ container_port: 80, host_port: 8080, protocol: 'tcp' }]);
});

test('exec health checks pass until told to fail; exec in a stopped container is refused', async () => {
  const engine = new FakeEngine();
  const id = await engine.createContainer(containerDefinition(task('t1'), ADDRESSING));
  await engine.startContainer(id);
  assert.equal((await engine.exec(id, ['true'], 1000)).exitCode, 0);
  engine.setHealthy(id, false);
  assert.equal((await engine.exec(id, ['true'], 1000)).exitCode, 1);
  engine.kill(id);
  await assert.rejects(engine.exec(id, ['true'], 1000), (e) => e instanceof EngineError && e.status === 409);
});

test('an unavailable engine rejects every call and ends its event streams', async () => {
  const engine = new FakeEngine();
  const controller = new AbortController();
  const watching = engine.watchEvents(CLUSTER, () => {}, controller.signal);
  engine.setAvailable(false);
  await watching;
  await assert.rejects(engine.listManaged(CLUSTER), EngineError);
  await assert.rejects(engine.info(), EngineError);
  engine.setAvailable(true);
  assert.deepEqual(await engine.listManaged(CLUSTER), []);
});

test('images: a missing one is refused at create, pulled when asked, and an unpullable one fails', async () => {
  const engine = new FakeEngine({ images: [], unpullable: (ref) => ref.startsWith('127.0.0.1:1/') });
  assert.equal(await engine.hasImage('skiff-demo:v1'), false);
  await assert.rejects(
    engine.createContainer(containerDefinition(task('t1'), ADDRESSING)),
    (e) => e instanceof EngineError && e.status === 404,
  );
  await engine.pullImage('skiff-demo:v1');
  assert.equal(await engine.hasImage('skiff-demo:v1'), true);
  await assert.rejects(engine.pullImage('127.0.0.1:1/none:latest'), /^EngineError: pull /);
});

test('images as the ImageEngine port: listed with ids and sizes, a used one is not removed', async () => {
  const engine = new FakeEngine({ images: ['skiff-demo:v1', 'old:v1'] });
  assert.deepEqual(
    (await engine.listImages()).map((i) => [i.repoTags, i.id === fakeImageId(i.repoTags[0] ?? '')]),
    [
      [['old:v1'], true],
      [['skiff-demo:v1'], true],
    ],
  );
  const id = await engine.createContainer(containerDefinition(task('t1'), ADDRESSING));
  assert.deepEqual(await engine.imageUsers(), [
    { containerName: 'web-0.t1', imageId: fakeImageId('skiff-demo:v1') },
  ]);
  assert.equal(await engine.removeImage('skiff-demo:v1'), 'conflict');
  assert.equal(await engine.removeImage('old:v1'), 'removed');
  assert.equal(await engine.removeImage('old:v1'), 'gone');
  assert.equal(await engine.imageId('old:v1'), undefined);
  await engine.removeContainer(id);
  // Every image present (no list given): those in use are listed, nothing else.
  const all = new FakeEngine();
  await all.createContainer(containerDefinition(task('t1'), ADDRESSING));
  assert.deepEqual(
    (await all.listImages()).map((i) => i.repoTags),
    [['skiff-demo:v1']],
  );
});

test('the same seed gives the same container ids', async () => {
  const ids = async (seed: number) => {
    const engine = new FakeEngine({ random: seededRandom(seed) });
    return [
      await engine.createContainer(containerDefinition(task('t1', 0), ADDRESSING)),
      await engine.createContainer(containerDefinition(task('t2', 1), ADDRESSING)),
    ];
  };
  assert.deepEqual(await ids(7), await ids(7));
  assert.notDeepEqual(await ids(7), await ids(8));
});

test("the agent's real converge loop runs its tasks on the fake engine and replaces a killed one", async () => {
  const engine = new FakeEngine();
  const reports: number[] = [];
  const loop = new ConvergeLoop({
    engine,
    clusterId: CLUSTER,
    pool: DEFAULT_POOL,
    nodeId: 'node-1',
    concurrency: 8,
    resyncIntervalMs: 60_000,
    stableAfterMs: 10_000,
    now: Date.now,
    onReport: (report) => reports.push(report.tasks.length),
    onError: (error) => assert.fail(String(error)),
  });
  loop.start();
  try {
    loop.setDesired([task('t1', 0), task('t2', 1), task('t3', 2)], { fromServer: true });
    const running = async () => (await engine.listManaged(CLUSTER)).filter((c) => c.state === 'running');
    await eventually('3 running containers', async () => (await running()).length === 3, {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    const victim = (await running()).find((c) => c.taskId === 't2');
    assert.ok(victim);
    engine.kill(victim.id);
    await eventually(
      't2 running in a new container',
      async () => (await running()).some((c) => c.taskId === 't2' && c.id !== victim.id),
      { timeoutMs: 5000, intervalMs: 10 },
    );
    assert.ok(reports.length > 0);
  } finally {
    loop.stop();
  }
});
