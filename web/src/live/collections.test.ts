import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SkiffEvent } from '../api/types.ts';
import { appendEvents, upsertByKey } from './collections.ts';

const key = (x: { k: string }) => x.k;

test('upsertByKey: no change keeps the list itself; changes keep the other items and the order', () => {
  const a = { k: 'a' };
  const b = { k: 'b' };
  const list = [a, b];
  assert.equal(upsertByKey(list, new Map(), key), list);
  assert.equal(upsertByKey(list, new Map([['a', a]]), key), list);
  const b2 = { k: 'b' };
  const next = upsertByKey(
    list,
    new Map([
      ['b', b2],
      ['0', { k: '0' }],
      ['zz', null],
    ]),
    key,
  );
  assert.deepEqual(next.map(key), ['0', 'a', 'b']);
  assert.equal(next[1], a);
  assert.equal(next[2], b2);
  assert.deepEqual(upsertByKey(list, new Map([['a', null]]), key), [b]);
});

test('appendEvents: in id order, no repeats after a resync, at most max kept', () => {
  const e = (id: number) => ({ id }) as SkiffEvent;
  const list = appendEvents(undefined, [e(1), e(2)], 3);
  assert.equal(appendEvents(list, [e(1), e(2)], 3), list);
  assert.deepEqual(
    appendEvents(list, [e(2), e(3), e(4)], 3).map((x) => x.id),
    [2, 3, 4],
  );
});
