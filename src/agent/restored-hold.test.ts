import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIVENESS, livenessFor } from '../server/node-liveness.ts';
import { DEFAULT_NODE_DOWN_AFTER_MS, restoredHoldMs, restoredStarts } from './restored-hold.ts';

test('the bound is when the server, at its default timing, calls a silent node down', () => {
  // Kept in step with the server: its default liveness, scaled to the interval it tells agents.
  const baseIntervalMs = DEFAULT_LIVENESS.heartbeatTimeoutMs / 3;
  for (const intervalMs of [100, 500, 1000, 2000, 4000, 10_000]) {
    const server = livenessFor(DEFAULT_LIVENESS, baseIntervalMs, intervalMs);
    const downMs = Math.max(server.downAfterMs, server.silentDownAfterMs ?? server.downAfterMs);
    assert.equal(restoredHoldMs(intervalMs), downMs, `a ${intervalMs} ms beat`);
  }
  assert.equal(DEFAULT_NODE_DOWN_AFTER_MS, DEFAULT_LIVENESS.downAfterMs);
  assert.equal(restoredHoldMs(undefined), 3000, 'a file saved before the interval was');
  assert.equal(restoredHoldMs(500), 3000);
  assert.equal(restoredHoldMs(4000), 13_500, 'at 1,000 nodes');
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
