import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredTask } from '../store/store.ts';
import { logStreamsToOpen, sortableLogTime, type TaskStream } from './log-follow-plan.ts';

function task(
  id: string,
  observed: { container: string | null; state?: string; restarts?: number } | null,
): StoredTask {
  return {
    id,
    service: 'web',
    slot: 0,
    revision: 1,
    nodeId: 'a',
    desiredState: 'running',
    pendingReason: null,
    createdAt: 0,
    observed:
      observed === null
        ? null
        : {
            task_id: id,
            state: (observed.state ?? 'running') as 'running',
            container_id: observed.container,
            health: 'none',
            message: null,
            exit_code: null,
            restart_count: observed.restarts ?? 0,
            ports: [],
            retry_at: null,
            ready_since: null,
            ip: null,
          },
  };
}

const stream = (overrides: Partial<TaskStream> = {}): TaskStream => ({
  open: false,
  containerId: 'c1',
  state: 'running',
  restartCount: 0,
  cutOff: false,
  ...overrides,
});

const plan = (tasks: StoredTask[], streams: Record<string, TaskStream>, connected = true) =>
  logStreamsToOpen(tasks, new Map(Object.entries(streams)), () => connected).map((t) => t.taskId);

test('a task with a container and no stream gets one; without a container or node, none', () => {
  assert.deepEqual(
    plan([task('t1', { container: 'c1' }), task('t2', { container: null }), task('t3', null)], {}),
    ['t1'],
  );
  assert.deepEqual(plan([task('t1', { container: 'c1' })], {}, false), [], 'its node is not connected');
});

test('reopened for a new container, a restart, a start, or a node back; not otherwise', () => {
  const t = task('t1', { container: 'c1' });
  assert.deepEqual(plan([t], { t1: stream({ open: true }) }), [], 'still open');
  assert.deepEqual(plan([t], { t1: stream() }), [], 'ended, nothing new');
  assert.deepEqual(plan([t], { t1: stream({ containerId: 'c0' }) }), ['t1'], 'a replacement container');
  assert.deepEqual(
    plan([task('t1', { container: 'c1', restarts: 1 })], { t1: stream() }),
    ['t1'],
    'restarted in place',
  );
  assert.deepEqual(plan([t], { t1: stream({ state: 'starting' }) }), ['t1'], 'opened before it ran');
  assert.deepEqual(plan([t], { t1: stream({ cutOff: true }) }), ['t1'], 'its node came back');
});

test("Docker's trimmed nanoseconds sort in time order once padded", () => {
  const times = [
    '2025-06-01T12:00:01.25Z',
    '2025-06-01T12:00:01.1Z',
    '2025-06-01T12:00:01Z',
    '2025-06-01T12:00:01.123456789Z',
  ];
  assert.deepEqual(times.map(sortableLogTime).sort(), [
    '2025-06-01T12:00:01.000000000Z',
    '2025-06-01T12:00:01.100000000Z',
    '2025-06-01T12:00:01.123456789Z',
    '2025-06-01T12:00:01.250000000Z',
  ]);
});
