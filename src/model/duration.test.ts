import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDurationMs, parseDurationMs } from './duration.ts';

test('parses the durations users write', () => {
  assert.equal(parseDurationMs('10s'), 10_000);
  assert.equal(parseDurationMs('500ms'), 500);
  assert.equal(parseDurationMs('1m30s'), 90_000);
  assert.equal(parseDurationMs('1.5s'), 1500);
  assert.equal(parseDurationMs('2'), 2000);
  assert.equal(parseDurationMs('1h'), 3_600_000);
});

test('rejects malformed durations', () => {
  for (const bad of ['', 's', 'ten seconds', '10x', '-1s', '1s junk']) {
    assert.equal(parseDurationMs(bad), undefined, bad);
  }
});

test('formats milliseconds back to the largest whole unit', () => {
  assert.equal(formatDurationMs(90_000), '90s');
  assert.equal(formatDurationMs(120_000), '2m');
  assert.equal(formatDurationMs(250), '250ms');
});
