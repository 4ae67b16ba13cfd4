import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelayMs, RECONNECT_BACKOFF } from './backoff.ts';

test('reconnect delays double from the base up to the cap, jittered within the upper half', () => {
  assert.equal(backoffDelayMs(0, 0), RECONNECT_BACKOFF.baseMs / 2);
  assert.equal(backoffDelayMs(0, 0.999_999), Math.round(RECONNECT_BACKOFF.baseMs * 0.999_999_5));
  assert.equal(backoffDelayMs(3, 0), (RECONNECT_BACKOFF.baseMs * 8) / 2);
  for (let attempt = 0; attempt < 100; attempt++) {
    const delay = backoffDelayMs(attempt, 0.5);
    assert.ok(
      delay <= RECONNECT_BACKOFF.maxMs && delay >= RECONNECT_BACKOFF.baseMs / 2,
      `${attempt}: ${delay}`,
    );
  }
  assert.equal(backoffDelayMs(1000, 1 - Number.EPSILON), RECONNECT_BACKOFF.maxMs);
});
