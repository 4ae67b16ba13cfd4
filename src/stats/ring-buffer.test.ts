import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RingBuffer } from './ring-buffer.ts';

test('a ring keeps the newest `capacity` items, oldest first', () => {
  const ring = new RingBuffer<number>(3);
  assert.deepEqual(ring.toArray(), []);
  assert.equal(ring.last(), undefined);
  for (let i = 1; i <= 7; i++) ring.push(i);
  assert.equal(ring.length, 3);
  assert.deepEqual(ring.toArray(), [5, 6, 7]);
  assert.equal(ring.last(), 7);
  assert.equal(ring.last(2), 5);
  assert.equal(ring.last(3), undefined);
});

test('a ring of no capacity is a caller bug', () => {
  assert.throws(() => new RingBuffer(0), RangeError);
});
