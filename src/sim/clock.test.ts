import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from './clock.ts';
import { hexId, seededRandom } from './random.ts';

test('virtual timers fire in due order (ties in the order set), only as time advances', async () => {
  const clock = new VirtualClock(100);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b@50'), 50);
  clock.setTimeout(() => fired.push('a@10'), 10);
  clock.setTimeout(() => fired.push('c@50'), 50);
  const cancelled = clock.setTimeout(() => fired.push('never'), 20);
  clock.clearTimeout(cancelled);
  await clock.advance(9);
  assert.deepEqual(fired, []);
  await clock.advance(41);
  assert.deepEqual(fired, ['a@10', 'b@50', 'c@50']);
  assert.equal(clock.now(), 150);
  assert.equal(clock.pending, 0);
});

test('a timer set by a firing timer inside the window fires in the same advance; promise chains settle', async () => {
  const clock = new VirtualClock();
  const fired: number[] = [];
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  void (async () => {
    await sleep(10);
    fired.push(clock.now());
    await sleep(10);
    fired.push(clock.now());
  })();
  await clock.advance(25);
  assert.deepEqual(fired, [10, 20]);
});

test('seeded randomness repeats for a seed and differs between seeds', () => {
  const a = seededRandom(42);
  const b = seededRandom(42);
  const c = seededRandom(43);
  const first = [a(), a(), a()];
  assert.deepEqual(first, [b(), b(), b()]);
  assert.notDeepEqual(first, [c(), c(), c()]);
  assert.match(hexId(seededRandom(1)), /^[0-9a-f]{64}$/);
});
