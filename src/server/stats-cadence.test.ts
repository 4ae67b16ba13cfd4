import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_STATS_PER_S, statsIntervalMs } from './stats-cadence.ts';

test('statsIntervalMs: keeps the base interval for a small cluster', () => {
  assert.equal(statsIntervalMs(5000, 1), 5000);
  assert.equal(statsIntervalMs(5000, 5), 5000);
  assert.equal(statsIntervalMs(5000, 200), 5000);
});

test('statsIntervalMs: grows with the cluster so the server sees at most MAX_STATS_PER_S a second', () => {
  for (const nodes of [201, 1000, 5000]) {
    const interval = statsIntervalMs(5000, nodes);
    assert.ok(interval > 5000);
    assert.ok((nodes * 1000) / interval <= MAX_STATS_PER_S);
  }
  assert.equal(statsIntervalMs(5000, 1000), 25_000);
});
