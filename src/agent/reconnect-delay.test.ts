import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reconnectDelayMs } from './reconnect-delay.ts';

test('a dropped connection is dialled again fast, at most a second apart', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((n) => reconnectDelayMs('dropped', n)),
    [250, 500, 1000, 1000, 1000],
  );
});

test('a refusal backs off exponentially to 30 s', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 100].map((n) => reconnectDelayMs('refused', n)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
  );
});
