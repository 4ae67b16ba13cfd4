import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './errors.ts';
import { imageGcFromFlags } from './image-gc-flags.ts';

test("the kubelet's defaults, and each flag read and checked", () => {
  assert.deepEqual(imageGcFromFlags({}), {
    thresholds: { highPercent: 85, lowPercent: 80, minAgeMs: 120_000 },
    intervalMs: 60_000,
  });
  assert.deepEqual(
    imageGcFromFlags({
      'image-gc-high-threshold': '1',
      'image-gc-low-threshold': '0',
      'image-gc-min-age': '0s',
      'image-gc-interval': '1s',
    }),
    { thresholds: { highPercent: 1, lowPercent: 0, minAgeMs: 0 }, intervalMs: 1000 },
  );
  for (const [flags, message] of [
    [{ 'image-gc-high-threshold': '101' }, /--image-gc-high-threshold 101: expected a percentage/],
    [{ 'image-gc-low-threshold': 'x' }, /--image-gc-low-threshold x/],
    [{ 'image-gc-high-threshold': '70' }, /low-threshold 80 is above --image-gc-high-threshold 70/],
    [{ 'image-gc-interval': '0s' }, /--image-gc-interval 0s: expected a duration from 1s to 24h/],
    [{ 'image-gc-min-age': 'soon' }, /--image-gc-min-age soon/],
  ] as const)
    assert.throws(
      () => imageGcFromFlags(flags),
      (error) => error instanceof UsageError && message.test(error.message),
    );
});
