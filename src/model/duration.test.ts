import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  durationSchema,
  durationWithin,
  formatDurationMs,
  MAX_TIMER_MS,
  parseDurationMs,
  timerDelayMs,
} from './duration.ts';

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

test('spec durations are bounded: an hour at most, a floor where zero would spin', () => {
  assert.equal(durationSchema.safeParse('1h').success, true);
  assert.equal(durationSchema.safeParse('0s').success, true);
  for (const tooLong of ['61m', '600h', '99999999999h']) {
    const parsed = durationSchema.safeParse(tooLong);
    assert.equal(parsed.success, false, tooLong);
    assert.match(parsed.error?.issues[0]?.message ?? '', /from 0s to 1h/);
  }
  assert.equal(durationWithin(100).safeParse('50ms').success, false);
  assert.equal(durationWithin(100).safeParse('100ms').success, true);
  assert.equal(durationSchema.safeParse('soon').error?.issues.length, 1, 'a malformed one is one issue');
});

test('timer delays are clamped to what setTimeout honours', () => {
  assert.equal(timerDelayMs(-5), 0);
  assert.equal(timerDelayMs(1e300), MAX_TIMER_MS);
  assert.equal(timerDelayMs(Number.POSITIVE_INFINITY), MAX_TIMER_MS);
  assert.equal(timerDelayMs(Number.NaN), MAX_TIMER_MS);
  assert.equal(timerDelayMs(1500), 1500);
});
