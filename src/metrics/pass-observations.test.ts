import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rollout } from '../model/rollout.ts';
import type { Task } from '../model/task.ts';
import { passObservations } from './pass-observations.ts';

const rollout = (state: Rollout['state']): Rollout => ({
  state,
  from_revision: 1,
  to_revision: 2,
  started_at: '2025-01-01T00:00:00.000Z',
  finished_at: null,
  message: null,
});
const task = (id: string, nodeId: string | null, createdAt: number): Task => ({
  id,
  service: 'web',
  slot: 0,
  revision: 1,
  nodeId,
  desiredState: 'running',
  pendingReason: null,
  createdAt,
});

test('ended rollouts count by result; one still running does not', () => {
  const observed = passObservations(
    {
      rollouts: [
        { service: 'a', rollout: rollout('complete'), revertTo: null },
        { service: 'b', rollout: rollout('rolled_back'), revertTo: 1 },
        { service: 'c', rollout: rollout('failed'), revertTo: null },
        { service: 'd', rollout: rollout('in_progress'), revertTo: null },
      ],
      insert: [],
      update: [],
    },
    () => undefined,
    0,
  );
  assert.deepEqual(observed.rollouts, [
    { service: 'a', result: 'succeeded' },
    { service: 'b', result: 'rolled_back' },
    { service: 'c', result: 'failed' },
  ]);
});

test('each placed replica waited from its creation; unplaced ones and other updates are not timed', () => {
  const observed = passObservations(
    {
      rollouts: [],
      insert: [task('new', 'n1', 9_000), task('unplaced', null, 9_000)],
      update: [
        { id: 'waited', placement: { nodeId: 'n1', pendingReason: null } },
        { id: 'still', placement: { nodeId: null, pendingReason: 'no nodes have joined the cluster' } },
        { id: 'stopped', desiredState: 'shutdown' },
      ],
    },
    (id) => (id === 'waited' ? 4_000 : undefined),
    10_000,
  );
  assert.deepEqual(observed.schedulingLatenciesS, [1, 6]);
});
