import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskObservation } from '../model/task.ts';
import { globalSlots } from './global-slots.ts';
import type { ReconcileInput, ReconcilerTask } from './service-reconciler.ts';
import { isSteady, reconcileService } from './service-reconciler.ts';

const spec = serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', replicas: 3 });
const NOW = 100_000;

function observed(
  state: TaskObservation['state'],
  overrides: Partial<TaskObservation> = {},
): TaskObservation {
  return {
    task_id: 'x',
    state,
    container_id: 'c',
    health: 'none',
    message: null,
    exit_code: null,
    restart_count: 0,
    ports: [],
    retry_at: null,
    ready_since: state === 'running' ? 0 : null,
    ip: null,
    ...overrides,
  };
}

function task(id: string, slot: number, overrides: Partial<ReconcilerTask> = {}): ReconcilerTask {
  return {
    id,
    service: 'web',
    slot,
    revision: 1,
    nodeId: 'n1',
    desiredState: 'running',
    pendingReason: null,
    createdAt: 0,
    observed: observed('running'),
    ...overrides,
  };
}

function input(overrides: Partial<ReconcileInput>): ReconcileInput {
  let next = 0;
  return {
    service: 'web',
    desired: { spec, revision: 1 },
    tasks: [],
    drainingNodes: new Set(),
    now: NOW,
    newTaskId: () => `new${next++}`,
    ...overrides,
  };
}

const v2 = (replicas: number, update: Partial<typeof spec.update> = {}) => ({
  spec: { ...spec, replicas, update: { ...spec.update, ...update } },
  revision: 2,
});

test('creates a task for every empty slot', () => {
  const plan = reconcileService(input({ tasks: [task('a', 1)] }));
  assert.deepEqual(
    plan.create.map((t) => [t.id, t.slot, t.revision]),
    [
      ['new0', 0, 1],
      ['new1', 2, 1],
    ],
  );
  assert.deepEqual(plan.shutdown, []);
});

test('a converged service plans nothing and is complete', () => {
  const plan = reconcileService(input({ tasks: [task('a', 0), task('b', 1), task('c', 2)] }));
  assert.deepEqual(plan, { create: [], shutdown: [], forget: [], failure: null, complete: true });
});

test('scaling down shuts down the highest slots', () => {
  const plan = reconcileService(
    input({
      desired: { spec: { ...spec, replicas: 1 }, revision: 1 },
      tasks: [task('a', 0), task('b', 1), task('c', 2)],
    }),
  );
  assert.deepEqual(plan.shutdown, ['b', 'c']);
  assert.deepEqual(plan.create, []);
});

test('duplicates in a slot keep the oldest', () => {
  const plan = reconcileService(
    input({
      desired: { spec: { ...spec, replicas: 1 }, revision: 1 },
      tasks: [task('late', 0, { createdAt: 5 }), task('early', 0, { createdAt: 1 })],
    }),
  );
  assert.deepEqual(plan.shutdown, ['late']);
});

test('a rollout surges one replica at a time and waits for min_healthy_time', () => {
  const desired = v2(3, { max_surge: 1, min_healthy_time: '2s' });
  const old = [task('o0', 0), task('o1', 1), task('o2', 2)];
  const first = reconcileService(input({ desired, tasks: old }));
  assert.deepEqual(
    first.create.map((t) => t.slot),
    [0],
    'one surge replica',
  );
  assert.deepEqual(first.shutdown, []);
  assert.equal(first.complete, false);

  const fresh = task('n0', 0, { revision: 2, observed: observed('running', { ready_since: NOW - 1000 }) });
  const waiting = reconcileService(input({ desired, tasks: [...old, fresh] }));
  assert.deepEqual(waiting.create, [], 'ready for 1s of the 2s minimum: wait');
  assert.deepEqual(waiting.shutdown, []);

  const proven = task('n0', 0, { revision: 2, observed: observed('running', { ready_since: NOW - 2000 }) });
  const next = reconcileService(input({ desired, tasks: [...old, proven] }));
  assert.deepEqual(next.shutdown, ['o0']);
  assert.deepEqual(
    next.create.map((t) => t.slot),
    [1],
    'the freed surge budget starts the next slot',
  );
});

test('a replica that is running but not yet healthy does not count as ready', () => {
  const desired = v2(1);
  const starting = task('n0', 0, {
    revision: 2,
    observed: observed('running', { health: 'starting', ready_since: null }),
  });
  assert.deepEqual(reconcileService(input({ desired, tasks: [task('o0', 0), starting] })).shutdown, []);
});

test('max_surge 0 with max_unavailable 1 replaces stop-first, one at a time', () => {
  const desired = v2(3, { max_surge: 0, max_unavailable: 1 });
  const plan = reconcileService(input({ desired, tasks: [task('o0', 0), task('o1', 1), task('o2', 2)] }));
  assert.deepEqual(plan.shutdown, ['o0']);
  assert.deepEqual(
    plan.create.map((t) => t.slot),
    [0],
  );
});

test('a service with fixed host ports replaces stop-first', () => {
  const withPort = {
    ...spec,
    replicas: 1,
    ports: [
      {
        container_port: 80,
        host_port: 8080,
        protocol: 'tcp' as const,
        mode: 'host' as const,
        app_protocol: 'tcp' as const,
      },
    ],
  };
  const plan = reconcileService(input({ desired: { spec: withPort, revision: 2 }, tasks: [task('old', 0)] }));
  assert.deepEqual(plan.shutdown, ['old']);
  assert.equal(plan.create.length, 1);
});

test('a service with a single-writer volume replaces stop-first; a shared volume start-first', () => {
  const volume = (shared: boolean) => ({
    ...spec,
    replicas: 1,
    volumes: [
      { type: 'volume' as const, source: 'data-{{.Task.Slot}}', target: '/d', ...(shared ? { shared } : {}) },
    ],
  });
  const single = reconcileService(
    input({ desired: { spec: volume(false), revision: 2 }, tasks: [task('old', 0)] }),
  );
  assert.deepEqual(single.shutdown, ['old'], 'the old replica stops before its successor has the volume');
  assert.equal(single.create.length, 1);
  const shared = reconcileService(
    input({ desired: { spec: volume(true), revision: 2 }, tasks: [task('old', 0)] }),
  );
  assert.deepEqual(shared.shutdown, [], 'shared: the old one serves until its successor is ready');
  assert.equal(shared.create.length, 1);
});

test('a drained replica with a single-writer volume serves on until its successor runs (start-first)', () => {
  const volume = {
    ...spec,
    replicas: 1,
    volumes: [{ type: 'volume' as const, source: 'data-{{.Task.Slot}}', target: '/d' }],
  };
  const drainingNodes = new Set(['n1']);
  const first = reconcileService(
    input({ desired: { spec: volume, revision: 1 }, tasks: [task('old', 0)], drainingNodes }),
  );
  assert.deepEqual(first.shutdown, [], 'the old replica keeps serving');
  assert.equal(
    first.create.length,
    1,
    'its successor is made (the scheduler pins it, pending, to the volume)',
  );
  const successor = task('new', 0, { nodeId: null, observed: null, createdAt: 1 });
  const waiting = reconcileService(
    input({ desired: { spec: volume, revision: 1 }, tasks: [task('old', 0), successor], drainingNodes }),
  );
  assert.deepEqual([waiting.shutdown, waiting.create], [[], []], 'nothing more while it waits');
  const moved = task('new', 0, { nodeId: 'n2', createdAt: 1 });
  const done = reconcileService(
    input({ desired: { spec: volume, revision: 1 }, tasks: [task('old', 0), moved], drainingNodes }),
  );
  assert.deepEqual(done.shutdown, ['old'], 'once the successor runs elsewhere');
});

test('a successor that fails names the revision to roll back to', () => {
  const desired = v2(1);
  const broken = task('n0', 0, {
    revision: 2,
    observed: observed('failed', { message: 'pull x: not found' }),
  });
  const plan = reconcileService(input({ desired, tasks: [task('o0', 0), broken] }));
  assert.deepEqual(plan.failure, { reason: 'web-0 failed: pull x: not found', rollbackTo: 1 });
  assert.deepEqual(plan.shutdown, [], 'the old replica keeps serving');
});

test('a successor not ready within the deadline fails the rollout; auto_rollback off only reports', () => {
  const late = task('n0', 0, { revision: 2, createdAt: NOW - 61_000, observed: observed('starting') });
  const plan = reconcileService(input({ desired: v2(1), tasks: [task('o0', 0), late] }));
  assert.match(plan.failure?.reason ?? '', /web-0 not ready within 60s/);
  assert.equal(plan.failure?.rollbackTo, 1);
  const manual = reconcileService(
    input({ desired: v2(1, { auto_rollback: false }), tasks: [task('o0', 0), late] }),
  );
  assert.equal(manual.failure?.rollbackTo, null);
});

test('a crash-looping successor fails the rollout before the deadline', () => {
  const looping = task('n0', 0, {
    revision: 2,
    observed: observed('backoff', { restart_count: 3, message: 'exited with code 1' }),
  });
  const plan = reconcileService(input({ desired: v2(1), tasks: [task('o0', 0), looping] }));
  assert.match(plan.failure?.reason ?? '', /restarted 3 times/);
});

test('outdated replicas that were never placed are replaced at once', () => {
  const plan = reconcileService(
    input({ desired: v2(1), tasks: [task('o0', 0, { nodeId: null, observed: null })] }),
  );
  assert.deepEqual(plan.shutdown, ['o0']);
  assert.deepEqual(
    plan.create.map((t) => t.slot),
    [0],
  );
});

test('a replica on a draining node is replaced elsewhere before it stops', () => {
  const desired = { spec: { ...spec, replicas: 1 }, revision: 1 };
  const drainingNodes = new Set(['n1']);
  const first = reconcileService(input({ desired, drainingNodes, tasks: [task('old', 0)] }));
  assert.equal(first.create.length, 1);
  assert.deepEqual(first.shutdown, []);
  const moved = task('new', 0, { nodeId: 'n2' });
  assert.deepEqual(
    reconcileService(input({ desired, drainingNodes, tasks: [task('old', 0), moved] })).shutdown,
    ['old'],
  );
});

test('a deleted service shuts everything down and forgets what is gone', () => {
  const plan = reconcileService(
    input({
      desired: undefined,
      tasks: [
        task('a', 0),
        task('b', 1, { desiredState: 'shutdown', observed: null }),
        task('c', 2, { desiredState: 'shutdown' }),
        task('d', 3, { desiredState: 'shutdown', nodeId: null }),
      ],
    }),
  );
  assert.deepEqual(plan.shutdown, ['a']);
  assert.deepEqual(plan.forget, ['b', 'd']);
});

test('a service published through the ingress mesh still replaces start-first', () => {
  const meshed = {
    ...spec,
    replicas: 1,
    ports: [
      {
        container_port: 80,
        host_port: 8080,
        protocol: 'tcp' as const,
        mode: 'ingress' as const,
        app_protocol: 'http' as const,
      },
    ],
  };
  const plan = reconcileService(input({ desired: { spec: meshed, revision: 2 }, tasks: [task('old', 0)] }));
  assert.deepEqual(plan.shutdown, []);
  assert.equal(plan.create.length, 1);
});

test('a steady service (isSteady) gets an empty plan, at any time, on 2,000 seeded inputs', () => {
  let seed = 11;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  let steady = 0;
  for (let i = 0; i < 2000; i++) {
    const replicas = pick([0, 1, 2, 3]);
    const revision = pick([1, 2]);
    const count = pick([0, 1, 2, 3, 4]);
    const tasks = Array.from({ length: count }, (_, n) =>
      task(`t${n}`, random() < 0.8 ? n : pick([0, 1, 2, 3]), {
        revision: random() < 0.85 ? revision : pick([1, 2]),
        desiredState: random() < 0.9 ? 'running' : 'shutdown',
        nodeId: pick(['n1', 'n2', null]),
        createdAt: Math.floor(random() * NOW),
        observed: pick([
          null,
          observed('running'),
          observed('running', { health: 'unhealthy' }),
          observed('running', { ready_since: NOW - 1 }),
          observed('failed', { message: 'boom' }),
          observed('starting', { restart_count: 5 }),
        ]),
      }),
    );
    const desired = {
      spec: { ...spec, replicas, update: { ...spec.update, min_healthy_time: '10s' } },
      revision,
    };
    const drainingNodes = new Set(random() < 0.2 ? ['n2'] : []);
    const at = Math.floor(random() * NOW * 2);
    const given = input({ desired, tasks, drainingNodes, now: at });
    if (!isSteady(given)) continue;
    steady++;
    const plan = reconcileService(given);
    assert.deepEqual(
      { create: plan.create, shutdown: plan.shutdown, forget: plan.forget, failure: plan.failure },
      { create: [], shutdown: [], forget: [], failure: null },
      JSON.stringify(given),
    );
  }
  assert.ok(steady > 100, `steady inputs were drawn: ${steady}`);
});

test('a steady global service (isSteady with its slots) gets an empty plan, at any time, on 2,000 seeded inputs', () => {
  let seed = 29;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const nodes = ['n1', 'n2', 'n3'];
  let steady = 0;
  for (let i = 0; i < 2000; i++) {
    const revision = pick([1, 2]);
    const count = pick([0, 1, 2, 3, 4]);
    const tasks = Array.from({ length: count }, (_, n) =>
      task(`t${n}`, random() < 0.8 ? n : pick([0, 1, 2, 3]), {
        revision: random() < 0.85 ? revision : pick([1, 2]),
        desiredState: random() < 0.9 ? 'running' : 'shutdown',
        nodeId: random() < 0.8 ? (nodes[n] ?? null) : pick([...nodes, null]),
        createdAt: Math.floor(random() * NOW),
        observed: pick([null, observed('running'), observed('failed', { message: 'boom' })]),
      }),
    );
    // As the pass derives them: one slot per eligible node, a node keeping its replica's slot.
    const slotNodes = globalSlots(
      nodes.map((id) => ({ id, eligible: random() < 0.85 })),
      tasks,
    );
    const desired = { spec: { ...spec, mode: 'global' as const, replicas: 1 }, revision };
    const drainingNodes = new Set(random() < 0.2 ? ['n2'] : []);
    const given = input({ desired, tasks, drainingNodes, slotNodes, now: Math.floor(random() * NOW * 2) });
    if (!isSteady(given)) continue;
    steady++;
    const plan = reconcileService(given);
    assert.deepEqual(
      { create: plan.create, shutdown: plan.shutdown, forget: plan.forget, failure: plan.failure },
      { create: [], shutdown: [], forget: [], failure: null },
      JSON.stringify({ ...given, slotNodes: [...slotNodes] }),
    );
  }
  assert.ok(steady > 50, `steady inputs were drawn: ${steady}`);
});

test('held replacements (a pull phase under way) start no successor and stop no old replica', () => {
  const old = [task('o0', 0), task('o1', 1), task('o2', 2)];
  for (const update of [
    { max_surge: 1, max_unavailable: 0 },
    { max_surge: 0, max_unavailable: 1 },
    { max_surge: 2, max_unavailable: 2 },
  ]) {
    const desired = v2(3, update);
    const held = reconcileService(input({ desired, tasks: old, holdReplacements: true }));
    assert.deepEqual(held.create, [], JSON.stringify(update));
    assert.deepEqual(held.shutdown, [], JSON.stringify(update));
    assert.equal(held.complete, false);
    assert.equal(held.failure, null);
    // Released, the same inputs replace as before.
    const released = reconcileService(input({ desired, tasks: old }));
    assert.ok(released.create.length > 0, JSON.stringify(update));
  }
});

test('held replacements still fill an empty slot and stop what is beyond the count', () => {
  const desired = v2(2);
  const plan = reconcileService(
    input({ desired, tasks: [task('o0', 0), task('o2', 2)], holdReplacements: true }),
  );
  assert.deepEqual(
    plan.create.map((t) => [t.slot, t.revision]),
    [[1, 2]],
  );
  assert.deepEqual(plan.shutdown, ['o2']);
});

test('held replacements still move a current replica off a draining node', () => {
  const desired = v2(2);
  const plan = reconcileService(
    input({
      desired,
      tasks: [task('o0', 0), task('n1', 1, { revision: 2, nodeId: 'drained' })],
      drainingNodes: new Set(['drained']),
      holdReplacements: true,
    }),
  );
  assert.deepEqual(
    plan.create.map((t) => [t.slot, t.revision]),
    [[1, 2]],
    'slot 1 is replaced elsewhere; slot 0 (revision 1) waits for the pull',
  );
});
