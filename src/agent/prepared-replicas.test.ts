/**
 * Prepared replicas on the agent: the pure plan (what to create and remove), and the real
 * PreparedReplicas beside the real converge loop on the simulator's fake engine: prepared means
 * created and not started; the converger leaves it alone until an assignment names its task, then
 * starts that very container (at once, not after its next list); a set that drops it removes it;
 * a fresh agent sweeps leftovers; a prepare its assignment overtakes is the converger's one create;
 * an image is asked about once however many are prepared at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import type { ManagedContainer } from '../docker/container-engine.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { FakeEngine } from '../sim/fake-engine.ts';
import { ConvergeLoop } from './converge-loop.ts';
import { planPrepared, visibleToConverger } from './prepared-plan.ts';
import { PreparedReplicas } from './prepared-replicas.ts';

const CLUSTER = 'cluster-1';

function task(id: string, slot: number): TaskSpec {
  return {
    task_id: id,
    service: 'web',
    slot,
    revision: 1,
    spec: serviceSpecSchema.parse({ name: 'web', image: 'img', update: { drain_timeout: '0s' } }),
    networks: [{ name: 'default', index: 0 }],
  };
}

function container(id: string, taskId: string, change: Partial<ManagedContainer> = {}): ManagedContainer {
  return {
    id,
    name: `web-${taskId}`,
    taskId,
    service: 'web',
    slot: 0,
    revision: 1,
    state: 'created',
    exitCode: null,
    oomKilled: false,
    startedAt: null,
    createdAt: 1,
    ports: [],
    ip: null,
    prepared: true,
    ...change,
  };
}

const none = new Set<string>();

test('plan: create what is wanted and missing, remove what is prepared and no longer wanted', () => {
  const actions = planPrepared({
    wanted: [task('t1', 0), task('t2', 1)],
    containers: [container('c1', 't1'), container('c9', 't9')],
    assigned: none,
    busy: none,
    failed: none,
  });
  assert.deepEqual(
    actions.map((a) => (a.kind === 'create' ? `create ${a.task.task_id}` : `remove ${a.containerId}`)),
    ['remove c9', 'create t2'],
  );
});

test('plan: an assigned or started prepared container is the converger’s, never touched here', () => {
  const actions = planPrepared({
    wanted: [],
    containers: [
      container('c1', 't1'),
      container('c2', 't2', { state: 'running', startedAt: 5 }),
      container('c3', 't3', { state: 'exited', startedAt: 5, exitCode: 1 }),
      container('c4', 't4', { prepared: false }),
    ],
    assigned: new Set(['t1']),
    busy: none,
    failed: none,
  });
  assert.deepEqual(actions, []);
});

test('plan: a busy task, a failed create and a duplicate', () => {
  const actions = planPrepared({
    wanted: [task('t1', 0), task('t2', 1), task('t3', 2)],
    containers: [container('c1', 't1'), container('c1b', 't1')],
    assigned: none,
    busy: new Set(['t2']),
    failed: new Set(['t3']),
  });
  assert.deepEqual(actions, [{ kind: 'remove', taskId: 't1', containerId: 'c1b' }], 'one per task is kept');
});

test('the converger sees a prepared container only once its task is assigned', () => {
  const list = [container('c1', 't1'), container('c2', 't2'), container('c3', 't3', { prepared: false })];
  assert.deepEqual(
    visibleToConverger(list, new Set(['t2'])).map((c) => c.id),
    ['c2', 'c3'],
  );
});

/** As the agent wires them (agent.ts `#startLoop`). */
function pair(engine: FakeEngine) {
  const logs: string[] = [];
  let prepared: PreparedReplicas | undefined;
  const loop = new ConvergeLoop({
    engine,
    clusterId: CLUSTER,
    pool: DEFAULT_POOL,
    nodeId: 'node-1',
    concurrency: 2,
    resyncIntervalMs: 60_000,
    stableAfterMs: 10_000,
    now: Date.now,
    onReport: () => {},
    onError: (error) => logs.push(String(error)),
    creatingElsewhere: () => prepared?.creating() ?? [],
    preparedContainer: (taskId) => prepared?.createdFor(taskId),
  });
  prepared = new PreparedReplicas({
    engine,
    clusterId: CLUSTER,
    pool: DEFAULT_POOL,
    assigned: () => loop.assignedTaskIds(),
    onAssignedCreated: (taskId, containerId) => loop.preparedCreated(taskId, containerId),
    log: (line) => logs.push(line),
  });
  return { loop, prepared, logs };
}

/** Runs `body` with the pair started, and stops both however it ends. */
async function withPair(
  engine: FakeEngine,
  body: (started: ReturnType<typeof pair>) => Promise<void>,
): Promise<void> {
  const started = pair(engine);
  started.loop.start();
  started.prepared.start();
  try {
    await body(started);
  } finally {
    started.loop.stop();
    started.prepared.stop();
  }
}

const states = (engine: FakeEngine) => engine.snapshot().map((c) => `${c.taskId}:${c.state}`);

test('prepared, kept through the converger’s passes, then started as the task’s own container', async () => {
  const engine = new FakeEngine();
  await withPair(engine, async ({ loop, prepared }) => {
    // The server has told this (warm) agent to run nothing, and to prepare two replicas.
    loop.setDesired([], { fromServer: true });
    prepared.setWanted([task('t1', 0), task('t2', 1)]);
    await eventually('two prepared, not started', () => {
      const s = states(engine).sort();
      return s.join() === 't1:created,t2:created' ? s : undefined;
    });
    loop.trigger();
    await eventually('a converger pass', async () => (await engine.listManaged(CLUSTER)).length === 2);
    const madeId = engine.snapshot().find((c) => c.taskId === 't1')?.id;
    // The node was called down: t1 is assigned here, and the prepared set no longer lists it.
    loop.setDesired([task('t1', 0)], { fromServer: true });
    prepared.setWanted([]);
    await eventually('t1 running, t2 removed', () => {
      const s = states(engine);
      return s.join() === 't1:running' ? s : undefined;
    });
    assert.equal(
      engine.snapshot()[0]?.id,
      madeId,
      'the prepared container itself was started, none made anew',
    );
  });
});

test('a fresh agent sweeps the prepared containers an earlier run left, but not an assigned one', async () => {
  const engine = new FakeEngine();
  const first = pair(engine);
  first.loop.setDesired([], { fromServer: true });
  first.prepared.start();
  first.prepared.setWanted([task('t1', 0), task('t2', 1)]);
  await eventually('two prepared', () => engine.snapshot().length === 2);
  first.prepared.stop();
  // Killed and restarted: its saved assignment names t2 (the server assigned it just before).
  const second = pair(engine);
  second.loop.setDesired([task('t2', 1)], { fromServer: false, holdStartsForMs: 0 });
  second.loop.start();
  second.prepared.start();
  try {
    await eventually('t1 swept, t2 started by the converger', () => {
      const s = states(engine);
      return s.join() === 't2:running' ? s : undefined;
    });
  } finally {
    second.loop.stop();
    second.prepared.stop();
  }
});

test('an assignment arriving while the prepared create is in flight: the converger waits for it and starts it', async () => {
  const engine = new FakeEngine({ pullDelayMs: 50, images: [] });
  await withPair(engine, async ({ loop, prepared, logs }) => {
    loop.setDesired([], { fromServer: true });
    prepared.setWanted([task('t1', 0)]);
    // Its image is being pulled (50 ms) when the node is called down.
    await eventually('the prepared create in flight', () => prepared.creating().length === 1, {
      intervalMs: 5,
    });
    loop.setDesired([task('t1', 0)], { fromServer: true });
    prepared.setWanted([]);
    await eventually('t1 running alone', () => {
      const s = states(engine);
      return s.join() === 't1:running' ? s : undefined;
    });
    const [only] = await engine.listManaged(CLUSTER);
    assert.equal(only?.prepared, true, 'the prepared container, not one the converger made');
    assert.equal(engine.calls.get('createContainer'), 1, 'the converger made no second one');
    assert.ok(!logs.some((line) => /could not|conflict/i.test(line)), logs.join('\n'));
  });
});

/** The fake engine with its lists made slow on demand, and the order of calls as they begin and end. */
class SlowListEngine extends FakeEngine {
  listDelayMs = 0;
  readonly log: string[] = [];

  override async listManaged(clusterId: string): Promise<ManagedContainer[]> {
    this.log.push('list');
    await new Promise((done) => setTimeout(done, this.listDelayMs));
    const list = await super.listManaged(clusterId);
    this.log.push('listed');
    return list;
  }

  /** While set, a create waits for it: a test holds a create in flight for as long as it needs. */
  createGate: Promise<void> | undefined;

  override async createContainer(...args: Parameters<FakeEngine['createContainer']>): Promise<string> {
    this.log.push('create');
    await this.createGate;
    const id = await super.createContainer(...args);
    this.log.push('created');
    return id;
  }

  override async startContainer(id: string): Promise<void> {
    this.log.push('start');
    await super.startContainer(id);
  }
}

test('an assigned task’s prepared container is started at once, before the loop’s next list ends', async () => {
  const engine = new SlowListEngine();
  await withPair(engine, async ({ loop, prepared }) => {
    loop.setDesired([], { fromServer: true });
    prepared.setWanted([task('t1', 0), task('t2', 1)]);
    await eventually('two prepared', () => states(engine).join() === 't1:created,t2:created');
    assert.ok(prepared.createdFor('t1'), 'its container is known');
    // On a busy host a list takes a while; the failover must not wait for one.
    engine.listDelayMs = 300;
    engine.log.length = 0;
    loop.setDesired([task('t1', 0), task('t2', 1)], { fromServer: true });
    prepared.setWanted([]);
    assert.deepEqual(
      engine.log.filter((call) => call === 'start'),
      ['start', 'start'],
      `both starts asked with the assignment: ${engine.log.join(' ')}`,
    );
    await eventually('both running', () => states(engine).join() === 't1:running,t2:running');
    assert.equal(engine.calls.get('createContainer'), 2, 'the prepared containers themselves');
    assert.equal(engine.calls.get('startContainer'), 2, 'each started once');
  });
});

test('a prepared create in flight at the assignment: started as the create ends, not after a list', async () => {
  const engine = new SlowListEngine();
  let endCreate = (): void => {};
  let endList = (): void => {};
  engine.createGate = new Promise((done) => {
    endCreate = done;
  });
  await withPair(engine, async ({ loop, prepared, logs }) => {
    loop.setDesired([], { fromServer: true });
    await eventually('the loop has listed once', () => engine.log.includes('listed') || undefined, {
      intervalMs: 5,
    });
    prepared.setWanted([task('t1', 0)]);
    await eventually('the prepared create in flight', () => prepared.creating().length === 1, {
      intervalMs: 5,
    });
    // The loop's list after the assignment is held until the create has ended and been started,
    // whatever the machine's load: gates, not delays, order the two.
    const listHeld = new Promise<void>((done) => {
      endList = done;
    });
    const list = engine.listManaged.bind(engine);
    engine.listManaged = async (clusterId) => {
      await listHeld;
      return list(clusterId);
    };
    engine.log.length = 0;
    loop.setDesired([task('t1', 0)], { fromServer: true });
    prepared.setWanted([]);
    endCreate();
    await eventually('the start after the create', () => engine.log.includes('start') || undefined);
    const created = engine.log.indexOf('created');
    assert.ok(created >= 0, engine.log.join(' '));
    assert.equal(
      engine.log[created + 1],
      'start',
      `the start right after the create: ${engine.log.join(' ')}`,
    );
    endList();
    await eventually('t1 running', () => states(engine).join() === 't1:running');
    assert.equal(engine.calls.get('createContainer'), 1, 'the converger made no second one');
    assert.ok(!logs.some((line) => /could not|conflict/i.test(line)), logs.join('\n'));
  });
});

test('a prepare set its assignment overtakes (the host was down before the prepared pass listed): the converger makes the one container', async () => {
  const engine = new SlowListEngine();
  await withPair(engine, async ({ loop, prepared, logs }) => {
    loop.setDesired([], { fromServer: true });
    await eventually('the loop has listed once', () => engine.log.includes('listed') || undefined, {
      intervalMs: 5,
    });
    // A host killed at once is down a few ms after its link dropped: the prepare set and then the
    // assignment (with an empty set) arrive while the prepared pass is still listing.
    engine.listDelayMs = 100;
    prepared.setWanted([task('t1', 0)]);
    await eventually('the prepared pass listing', () => engine.log.at(-1) === 'list' || undefined, {
      intervalMs: 1,
    });
    assert.deepEqual(prepared.creating(), [], 'no prepared create begun yet');
    loop.setDesired([task('t1', 0)], { fromServer: true });
    prepared.setWanted([]);
    await eventually('t1 running', () => {
      const s = states(engine);
      return s.join() === 't1:running' ? s : undefined;
    });
    const [only] = await engine.listManaged(CLUSTER);
    assert.ok(only !== undefined && only.prepared !== true, 'the converger’s own container');
    assert.equal(
      engine.calls.get('createContainer'),
      1,
      'one container for the task, none prepared beside it',
    );
    assert.equal(engine.calls.get('startContainer'), 1);
    assert.ok(!logs.some((line) => /could not|failed/i.test(line)), logs.join('\n'));
  });
});

test('a prepared container gone before its start: the loop looks again and makes the replica, no failure', async () => {
  const engine = new SlowListEngine();
  const reports: string[] = [];
  await withPair(engine, async ({ loop, prepared }) => {
    loop.setDesired([], { fromServer: true });
    prepared.setWanted([task('t1', 0)]);
    await eventually('prepared', () => states(engine).join() === 't1:created');
    const made = prepared.createdFor('t1');
    assert.ok(made);
    // Removed behind the agent's back: what the prepared replicas remember is stale.
    await engine.removeContainer(made);
    loop.setDesired([task('t1', 0)], { fromServer: true });
    prepared.setWanted([]);
    await eventually('t1 running in a container of its own', () => states(engine).join() === 't1:running');
    const report = loop.fullReport();
    for (const t of report.tasks) reports.push(`${t.task_id}:${t.state}:${t.message ?? ''}`);
    assert.ok(
      !report.events.some((e) => e.message.startsWith('Failed to start')),
      JSON.stringify(report.events),
    );
    assert.equal(engine.calls.get('createContainer'), 2, 'made anew by the converger');
  });
});

test('replicas of one image prepared at once ask the engine about it once', async () => {
  const engine = new FakeEngine();
  await withPair(engine, async ({ loop, prepared }) => {
    loop.setDesired([], { fromServer: true });
    prepared.setWanted([task('t1', 0), task('t2', 1), task('t3', 2), task('t4', 3)]);
    await eventually('four prepared', () => states(engine).length === 4);
    assert.equal(engine.calls.get('hasImage'), 1);
    assert.equal(engine.calls.get('imageExposedPorts') ?? 0, 1);
  });
});
