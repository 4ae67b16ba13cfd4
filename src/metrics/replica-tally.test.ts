import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Action, TaskRuntime } from '../agent/converger.ts';
import { FRESH_RUNTIME } from '../agent/converger.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { replicaTally } from './replica-tally.ts';

const running: TaskRuntime = { ...FRESH_RUNTIME, current: 'c1', runningSince: 1 };
const exited = (code: number | null, oomKilled = false): TaskRuntime => ({
  ...running,
  failures: 1,
  countedExit: 'c1',
  runningSince: null,
  lastExit: { code, oomKilled },
});
const task = { task_id: 't1', service: 'web' } as TaskSpec;
const replace: Action = { kind: 'replace', task, containerId: 'c1', attempt: 1 };
const serviceOf = (id: string) => (id === 't1' ? 'web' : undefined);

test('an exit counts once, by how it ended, and its replacement counts as a restart', () => {
  for (const [after, reason] of [
    [exited(137), 'error'],
    [exited(0), 'completed'],
    [exited(137, true), 'oom_killed'],
  ] as const) {
    const counted = replicaTally({
      before: new Map([['t1', running]]),
      after: new Map([['t1', after]]),
      actions: [replace],
      unhealthy: new Set(),
      serviceOf,
    });
    assert.deepEqual(counted.exits, [{ service: 'web', reason }]);
    assert.deepEqual(counted.restarts, [{ service: 'web', reason }]);
    // The next pass sees the same memory: nothing new.
    const again = replicaTally({
      before: new Map([['t1', after]]),
      after: new Map([['t1', after]]),
      actions: [],
      unhealthy: new Set(),
      serviceOf,
    });
    assert.deepEqual(again, { exits: [], restarts: [] });
  }
});

test('an unhealthy verdict is a restart, not an exit', () => {
  const counted = replicaTally({
    before: new Map([['t1', running]]),
    after: new Map([['t1', { ...running, failures: 1, countedExit: 'c1', runningSince: null }]]),
    actions: [replace],
    unhealthy: new Set(['c1']),
    serviceOf,
  });
  assert.deepEqual(counted, { exits: [], restarts: [{ service: 'web', reason: 'unhealthy' }] });
});

test('an OOM kill reported after the death corrects the account but is not a second exit', () => {
  const counted = replicaTally({
    before: new Map([['t1', exited(137)]]),
    after: new Map([['t1', exited(137, true)]]),
    actions: [],
    unhealthy: new Set(),
    serviceOf,
  });
  assert.deepEqual(counted, { exits: [], restarts: [] });
});
