import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskRecord } from '../model/task.ts';
import { TaskOverlay } from './task-overlay.ts';

const task = (id: string, slot = 0): TaskRecord => ({
  id,
  service: 'web',
  slot,
  revision: 1,
  nodeId: 'n1',
  desiredState: 'running',
  pendingReason: null,
  createdAt: 1,
  observed: null,
});

test('the view is the snapshot with the changes laid over it, in the order a Map would keep', () => {
  const snapshot = [task('a'), task('b'), task('c')];
  const view = new TaskOverlay(snapshot);
  assert.equal(view.values(), snapshot, 'unchanged: the snapshot itself, nothing copied');
  const b = { ...task('b'), desiredState: 'shutdown' as const };
  view.set(b);
  view.delete('c');
  view.set(task('d'));
  view.set(task('e'));
  view.delete('e');
  assert.deepEqual(
    view.values().map((t) => [t.id, t.desiredState]),
    [
      ['a', 'running'],
      ['b', 'shutdown'],
      ['d', 'running'],
    ],
  );
  assert.equal(view.get('b'), b);
  assert.equal(view.original('b'), snapshot[1]);
  assert.equal(view.get('c'), undefined);
  assert.equal(view.get('e'), undefined);
  assert.deepEqual(
    [...view.changed()].map(([id, before, after]) => [id, before.desiredState, after?.desiredState]),
    [
      ['b', 'running', 'shutdown'],
      ['c', 'running', undefined],
    ],
    'only the snapshot’s tasks, replaced or deleted',
  );
  assert.equal(snapshot.length, 3, 'the snapshot is not changed');
});
