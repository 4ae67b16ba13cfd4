import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskObservation } from '../model/task.ts';
import type { ReconcileInput, ReconcilerTask } from './service-reconciler.ts';
import { reconcileService } from './service-reconciler.ts';

const spec = serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', replicas: 3 });

function observed(
  state: TaskObservation['state'],
  health: TaskObservation['health'] = 'none',
): TaskObservation {
  return {
    task_id: 'x',
    state,
    container_id: 'c',
    health,
    message: null,
    exit_code: null,
    restart_count: 0,
    ports: [],
    retry_at: null,
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
    now: 100,
    newTaskId: () => `new${next++}`,
    ...overrides,
  };
}

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

test('a converged service plans nothing', () => {
  const plan = reconcileService(input({ tasks: [task('a', 0), task('b', 1), task('c', 2)] }));
  assert.deepEqual(plan, { create: [], shutdown: [], forget: [] });
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

test('a new revision starts first and stops the old replica once the new one serves', () => {
  const desired = { spec: { ...spec, replicas: 1 }, revision: 2 };
  const first = reconcileService(input({ desired, tasks: [task('old', 0)] }));
  assert.equal(first.create.length, 1);
  assert.deepEqual(first.shutdown, []);

  const starting = task('new', 0, { revision: 2, observed: observed('starting') });
  assert.deepEqual(reconcileService(input({ desired, tasks: [task('old', 0), starting] })).shutdown, []);

  const unhealthy = task('new', 0, { revision: 2, observed: observed('running', 'starting') });
  assert.deepEqual(reconcileService(input({ desired, tasks: [task('old', 0), unhealthy] })).shutdown, []);

  const serving = task('new', 0, { revision: 2, observed: observed('running', 'healthy') });
  assert.deepEqual(reconcileService(input({ desired, tasks: [task('old', 0), serving] })).shutdown, ['old']);
});

test('a service with fixed host ports replaces stop-first', () => {
  const withPort = {
    ...spec,
    replicas: 1,
    ports: [{ container_port: 80, host_port: 8080, protocol: 'tcp' as const }],
  };
  const plan = reconcileService(input({ desired: { spec: withPort, revision: 2 }, tasks: [task('old', 0)] }));
  assert.deepEqual(plan.shutdown, ['old']);
  assert.equal(plan.create.length, 1);
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

test('a replica on a draining node is replaced elsewhere before it stops', () => {
  const desired = { spec: { ...spec, replicas: 1 }, revision: 1 };
  const drainingNodes = new Set(['n1']);
  const first = reconcileService(input({ desired, drainingNodes, tasks: [task('old', 0)] }));
  assert.equal(first.create.length, 1);
  assert.deepEqual(first.shutdown, []);
  const moved = task('new', 0, { nodeId: 'n2', observed: observed('running') });
  assert.deepEqual(
    reconcileService(input({ desired, drainingNodes, tasks: [task('old', 0), moved] })).shutdown,
    ['old'],
  );
});
