import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ColumnRing } from './column-ring.ts';

interface Sample {
  at: number;
  limit: number | null;
  pids?: number;
  path: string;
}
const columns = [
  { name: 'at' as const },
  { name: 'limit' as const, nullable: true as const },
  { name: 'pids' as const, optional: true as const },
  { name: 'path' as const, text: true as const },
];

test('a ring keeps the newest `capacity` records, oldest first, as they were pushed', () => {
  const ring = new ColumnRing<Sample>(3, columns);
  assert.deepEqual(ring.toArray(), []);
  assert.equal(ring.last(), undefined);
  const samples: Sample[] = [];
  for (let i = 1; i <= 7; i++) {
    const sample: Sample = {
      at: i * 1000.5,
      limit: i % 2 === 0 ? null : 2 ** 40 + i,
      ...(i % 3 === 0 ? {} : { pids: i }),
      path: i < 6 ? '/var/lib/docker' : '/data',
    };
    samples.push(sample);
    ring.push(sample);
  }
  assert.equal(ring.length, 3);
  assert.deepEqual(ring.toArray(), samples.slice(4));
  assert.deepEqual(ring.last(), samples[6]);
  assert.deepEqual(ring.last(2), samples[4]);
  assert.equal(ring.last(3), undefined);
  assert.ok(!('pids' in (ring.last(1) ?? {})), 'an absent optional field stays absent');
  assert.equal(ring.last(1)?.limit, null, 'a null stays null');
});

test('a ring of no capacity is a caller bug', () => {
  assert.throws(() => new ColumnRing<Sample>(0, columns), RangeError);
});

test('lastValue reads one number of the newest record, NaN when there is none', () => {
  const ring = new ColumnRing<{ at: number; label: string }>(2, [
    { name: 'at' },
    { name: 'label', text: true },
  ]);
  assert.ok(Number.isNaN(ring.lastValue('at')), 'empty');
  ring.push({ at: 1, label: 'a' });
  ring.push({ at: 2, label: 'b' });
  ring.push({ at: 3, label: 'c' });
  assert.equal(ring.lastValue('at'), 3, 'after wrapping');
  assert.ok(Number.isNaN(ring.lastValue('label')), 'a text column holds no number');
});

test('text columns among number columns keep their own values, after wrapping too', () => {
  type Row = { a: string; n: number; b: string; m: number };
  const ring = new ColumnRing<Row>(3, [
    { name: 'a', text: true },
    { name: 'n' },
    { name: 'b', text: true },
    { name: 'm' },
  ]);
  const rows: Row[] = [];
  for (let i = 0; i < 8; i++) {
    const row = { a: `a${i % 2}`, n: i, b: `b${i}`, m: -i };
    rows.push(row);
    ring.push(row);
  }
  assert.deepEqual(ring.toArray(), rows.slice(5));
  assert.equal(ring.lastValue('m'), -7);
});
