import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskRecord } from '../model/task.ts';
import { globalSlots } from './global-slots.ts';
import { reconcileService } from './service-reconciler.ts';

const nodes = (...ids: string[]) => ids.map((id) => ({ id, eligible: true }));
const task = (id: string, slot: number, nodeId: string, extra: Partial<TaskRecord> = {}): TaskRecord => ({
  id,
  service: 'agent',
  slot,
  revision: 1,
  nodeId,
  desiredState: 'running',
  pendingReason: null,
  createdAt: 1,
  observed: {
    task_id: id,
    state: 'running',
    container_id: `c-${id}`,
    health: 'none',
    message: null,
    exit_code: null,
    restart_count: 0,
    ports: [],
    retry_at: null,
    ready_since: 0,
    ip: null,
  },
  ...extra,
});

test('new nodes take the lowest free slots in node order; known nodes keep theirs', () => {
  assert.deepEqual(
    [...globalSlots(nodes('b', 'a', 'c'), [])],
    [
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ],
  );
  const slots = globalSlots(nodes('a', 'b', 'd'), [task('t1', 1, 'b'), task('t2', 2, 'c')]);
  assert.deepEqual([...slots].sort(), [
    [0, 'a'],
    [1, 'b'],
    [3, 'd'],
  ]);
});

test('an ineligible node has no slot; a node that returns gets its old one back', () => {
  const away = globalSlots(
    [
      { id: 'a', eligible: true },
      { id: 'b', eligible: false },
    ],
    [task('t0', 0, 'a'), task('t1', 1, 'b', { desiredState: 'shutdown' })],
  );
  assert.deepEqual([...away], [[0, 'a']]);
  const back = globalSlots(nodes('a', 'b'), [
    task('t0', 0, 'a'),
    task('t1', 1, 'b', { desiredState: 'shutdown' }),
  ]);
  assert.deepEqual(
    [...back],
    [
      [0, 'a'],
      [1, 'b'],
    ],
  );
});

const spec = serviceSpecSchema.parse({ name: 'agent', image: 'skiff-demo:v1', mode: 'global' });
let nextId = 0;
const newTaskId = () => `n${nextId++}`;

test('the reconciler pins one replica per slot node and stops those on nodes that left', () => {
  const tasks = [task('t0', 0, 'a'), task('t1', 1, 'b')];
  const plan = reconcileService({
    service: 'agent',
    desired: { spec, revision: 1 },
    tasks,
    drainingNodes: new Set(),
    slotNodes: globalSlots(nodes('a', 'c'), tasks),
    now: 10,
    newTaskId,
  });
  assert.deepEqual(plan.shutdown, ['t1']);
  assert.deepEqual(
    plan.create.map((t) => [t.slot, t.nodeId]),
    [[2, 'c']],
    'c waits for slot 1 only while b’s replica still holds it: it takes the next',
  );
});

test('a new revision rolls node by node, start-first, each successor on its own node', () => {
  const tasks = [task('t0', 0, 'a'), task('t1', 1, 'b')];
  const plan = reconcileService({
    service: 'agent',
    desired: { spec, revision: 2 },
    tasks,
    drainingNodes: new Set(),
    slotNodes: globalSlots(nodes('a', 'b'), tasks),
    now: 10,
    newTaskId,
  });
  assert.deepEqual(
    plan.create.map((t) => [t.slot, t.nodeId, t.revision]),
    [[0, 'a', 2]],
    'max_surge 1: one node at a time',
  );
  assert.deepEqual(plan.shutdown, []);
});
