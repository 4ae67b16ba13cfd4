import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvMirror } from './kv-mirror.ts';

test('a pending write is visible at once and based on what was confirmed; a later batch on the earlier one', () => {
  const mirror = new KvMirror();
  mirror.observe('k', 'v1', 5, 5);
  const first = mirror.openBatch();
  mirror.stage(first, 'k', 'v2');
  assert.equal(mirror.visible('k'), 'v2');
  assert.equal(mirror.baseRevision(first, 'k'), 5);
  const second = mirror.openBatch();
  mirror.stage(second, 'k', 'v3');
  mirror.stage(second, 'new', 'x');
  assert.throws(() => mirror.baseRevision(second, 'k'), /committed before/);
  mirror.confirmWrites(first, first.writes.keys(), 9);
  mirror.finish(first);
  assert.equal(mirror.baseRevision(second, 'k'), 9, 'based on the first batch, at its commit');
  assert.equal(mirror.baseRevision(second, 'new'), 0, 'a new key: compared as absent');
  assert.equal(mirror.visible('k'), 'v3');
});

test('a remote change under a pending write stays hidden; one elsewhere is a visible change; old ones are ignored', () => {
  const mirror = new KvMirror();
  const batch = mirror.openBatch();
  mirror.stage(batch, 'mine', 'local');
  assert.equal(mirror.observe('mine', 'remote', 7, 7), undefined);
  assert.equal(mirror.visible('mine'), 'local');
  assert.deepEqual(mirror.observe('other', 'x', 8, 8), { key: 'other', value: 'x' });
  assert.equal(mirror.observe('other', 'y', 6, 6), undefined, 'older than what is known');
  assert.equal(mirror.observe('other', 'x', 9, 8), undefined, 'the same value again is no change');
});

test('dropping a batch undoes it and every batch after it, and says what readers see again', () => {
  const mirror = new KvMirror();
  mirror.observe('a', 'a0', 3, 3);
  const one = mirror.openBatch();
  mirror.stage(one, 'a', 'a1');
  const two = mirror.openBatch();
  mirror.stage(two, 'a', 'a2');
  mirror.stage(two, 'b', 'b2');
  const three = mirror.openBatch();
  mirror.stage(three, 'c', 'c3');
  const { dropped, changes } = mirror.drop(two);
  assert.deepEqual(
    dropped.map((b) => b.id),
    [two.id, three.id],
  );
  assert.deepEqual(
    changes.sort((x, y) => (x.key < y.key ? -1 : 1)),
    [
      { key: 'a', value: 'a1' },
      { key: 'b', value: undefined },
      { key: 'c', value: undefined },
    ],
  );
  assert.deepEqual(
    mirror.pendingBatches.map((b) => b.id),
    [one.id],
  );
});

test('a committed delete stays a tombstone until the watch passes it, so an older event cannot bring the key back', () => {
  const mirror = new KvMirror();
  mirror.observe('k', 'v', 4, 4);
  const batch = mirror.openBatch();
  mirror.stage(batch, 'k', null);
  mirror.confirmWrites(batch, ['k'], 10);
  mirror.finish(batch);
  assert.equal(mirror.visible('k'), undefined);
  assert.equal(mirror.observe('k', 'stale', 8, 4), undefined, 'an event older than the delete');
  assert.equal(mirror.visible('k'), undefined);
  mirror.watchedUpTo(10);
  assert.equal(mirror.confirmed('k'), undefined, 'the tombstone is gone once the watch passed it');
  assert.deepEqual(mirror.observe('k', 'again', 12, 12), { key: 'k', value: 'again' });
});

test('a write after a delete (pending or committed) is based on the key being absent, as etcd compares it', () => {
  const mirror = new KvMirror();
  mirror.observe('alloc', '0', 5, 5);
  const release = mirror.openBatch();
  mirror.stage(release, 'alloc', null);
  const again = mirror.openBatch();
  mirror.stage(again, 'alloc', '0');
  mirror.confirmWrites(release, ['alloc'], 9);
  mirror.finish(release);
  assert.equal(mirror.baseRevision(again, 'alloc'), 0, 'on a pending delete');
  const later = mirror.openBatch();
  mirror.stage(later, 'other', 'x');
  mirror.drop(again);
  const fresh = mirror.openBatch();
  mirror.stage(fresh, 'alloc', '1');
  assert.equal(mirror.baseRevision(fresh, 'alloc'), 0, 'on a committed delete (a tombstone)');
});
