import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIVENESS } from '../server/node-liveness.ts';
import {
  DEFAULT_NODE_DOWN_AFTER_MS,
  NODE_DOWN_AFTER_INTERVALS,
  restoredHoldMs,
  restoredStarts,
} from './restored-hold.ts';

test('the bound is the server’s default grace, and grows with the heartbeat interval as its timing does', () => {
  // Kept in step with the server's defaults: a 1.5 s heartbeat timeout (three 0.5 s beats), down after 3 s.
  assert.equal(DEFAULT_NODE_DOWN_AFTER_MS, DEFAULT_LIVENESS.downAfterMs);
  assert.equal(
    NODE_DOWN_AFTER_INTERVALS,
    (3 * DEFAULT_LIVENESS.downAfterMs) / DEFAULT_LIVENESS.heartbeatTimeoutMs,
    'the grace in the server’s default intervals (a third of its heartbeat timeout)',
  );
  assert.equal(restoredHoldMs(undefined), 3000, 'a file saved before the interval was');
  assert.equal(restoredHoldMs(500), 3000);
  assert.equal(restoredHoldMs(100), 3000, 'never less than the default grace');
  assert.equal(restoredHoldMs(4000), 24_000, 'at 1,000 nodes');
});

test('a restored assignment holds its starts until the server answers, or the bound passes', () => {
  const restored = { serverAnswered: false, restoredAt: 10_000, holdMs: 3000 };
  assert.deepEqual(restoredStarts({ ...restored, now: 10_000 }), { kind: 'held', untilMs: 13_000 });
  assert.deepEqual(restoredStarts({ ...restored, now: 12_999 }), { kind: 'held', untilMs: 13_000 });
  assert.deepEqual(restoredStarts({ ...restored, now: 13_000 }), { kind: 'free' }, 'the server stayed away');
  assert.deepEqual(
    restoredStarts({ ...restored, serverAnswered: true, now: 10_001 }),
    { kind: 'free' },
    'the server’s assignment says what runs',
  );
});

test('a fresh agent (nothing restored) and a hold of zero hold nothing', () => {
  assert.deepEqual(restoredStarts({ serverAnswered: false, restoredAt: undefined, holdMs: 3000, now: 1 }), {
    kind: 'free',
  });
  assert.deepEqual(restoredStarts({ serverAnswered: false, restoredAt: 5, holdMs: 0, now: 5 }), {
    kind: 'free',
  });
});
