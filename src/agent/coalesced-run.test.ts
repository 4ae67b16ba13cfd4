import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import { CoalescedRun } from './coalesced-run.ts';

test('triggers during a pass are folded into one more pass; none start once stopped', async () => {
  let passes = 0;
  let release: () => void = () => {};
  let stopped = false;
  const run = new CoalescedRun(
    async () => {
      passes++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    (error) => assert.fail(String(error)),
    () => stopped,
  );
  run.trigger();
  assert.equal(passes, 1);
  run.trigger();
  run.trigger();
  assert.equal(run.pending, true);
  release();
  await eventually('the folded pass', () => (passes === 2 ? true : undefined), {
    timeoutMs: 2000,
    intervalMs: 5,
  });
  assert.equal(run.pending, false);
  release();
  stopped = true;
  run.trigger();
  await Promise.resolve();
  assert.equal(passes, 2);
});

test('a pass that throws is reported, and the next trigger runs again', async () => {
  const errors: unknown[] = [];
  let passes = 0;
  const run = new CoalescedRun(
    async () => {
      passes++;
      throw new Error('engine gone');
    },
    (error) => errors.push(error),
    () => false,
  );
  run.trigger();
  await eventually('the error reported', () => (errors.length === 1 ? true : undefined), {
    timeoutMs: 2000,
    intervalMs: 5,
  });
  run.trigger();
  await eventually('a second pass', () => (passes === 2 ? true : undefined), {
    timeoutMs: 2000,
    intervalMs: 5,
  });
});
