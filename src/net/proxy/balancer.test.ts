import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Backend, Balancer, BalancerStateError } from './balancer.ts';

const backend = (id: string): Backend => ({ id, host: '10.0.0.1', port: 80 });
const list = (...ids: string[]): Backend[] => ids.map(backend);

function picks(balancer: Balancer, backends: readonly Backend[], count: number, exclude = new Set<string>()) {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < count; i++) out.push(balancer.pick(backends, exclude)?.id);
  return out;
}

test('round-robin cycles through the list in order', () => {
  const balancer = new Balancer('round-robin');
  assert.deepEqual(picks(balancer, list('a', 'b', 'c'), 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

test('nothing to pick from gives undefined', () => {
  assert.equal(new Balancer('round-robin').pick([], new Set()), undefined);
  assert.equal(new Balancer('least-connections').pick(list('a'), new Set(['a'])), undefined);
});

test('round-robin: removing the last pick moves on to its successor, not past it', () => {
  const balancer = new Balancer('round-robin');
  assert.deepEqual(picks(balancer, list('a', 'b', 'c', 'd'), 2), ['a', 'b']);
  assert.deepEqual(picks(balancer, list('a', 'c', 'd'), 3), ['c', 'd', 'a']);
});

test('round-robin: removing the last pick at the end of the list wraps to the start', () => {
  const balancer = new Balancer('round-robin');
  assert.deepEqual(picks(balancer, list('a', 'b', 'c'), 3), ['a', 'b', 'c']);
  assert.deepEqual(picks(balancer, list('a', 'b'), 2), ['a', 'b']);
});

test('round-robin: a removal before the cursor neither repeats nor skips anyone', () => {
  const balancer = new Balancer('round-robin');
  assert.deepEqual(picks(balancer, list('a', 'b', 'c', 'd'), 2), ['a', 'b']);
  assert.deepEqual(picks(balancer, list('b', 'c', 'd'), 3), ['c', 'd', 'b']);
});

test('round-robin: an added backend joins the rotation at its place', () => {
  const balancer = new Balancer('round-robin');
  assert.deepEqual(picks(balancer, list('a', 'b'), 1), ['a']);
  assert.deepEqual(picks(balancer, list('a', 'x', 'b'), 4), ['x', 'b', 'a', 'x']);
});

test('round-robin stays even while the list keeps changing', () => {
  const balancer = new Balancer('round-robin');
  const counts = new Map<string, number>();
  // A rolling replacement: each round one old replica leaves and a new one joins at the end.
  let backends = list('r1', 'r2', 'r3');
  for (let round = 0; round < 30; round++) {
    for (const id of picks(balancer, backends, 30)) counts.set(id ?? '', (counts.get(id ?? '') ?? 0) + 1);
    backends = [...backends.slice(1), backend(`r${round + 4}`)];
  }
  // With three listed at a time and 30 picks per round, every round gives each exactly 10.
  for (const [id, count] of counts) assert.equal(count % 10, 0, `${id} got ${count}`);
});

test('exclusion skips tried backends and keeps the rotation going', () => {
  const balancer = new Balancer('round-robin');
  const backends = list('a', 'b', 'c');
  assert.equal(balancer.pick(backends, new Set(['a']))?.id, 'b');
  assert.equal(balancer.pick(backends, new Set(['c']))?.id, 'a');
  assert.equal(balancer.pick(backends, new Set(['a', 'b', 'c'])), undefined);
  assert.equal(balancer.pick(backends, new Set())?.id, 'b');
});

test('least-connections picks the least busy backend', () => {
  const balancer = new Balancer('least-connections');
  const backends = list('a', 'b', 'c');
  balancer.acquire('a');
  balancer.acquire('a');
  balancer.acquire('b');
  assert.equal(balancer.pick(backends)?.id, 'c');
  balancer.acquire('c');
  balancer.acquire('c');
  assert.equal(balancer.pick(backends)?.id, 'b');
});

test('least-connections breaks ties round-robin', () => {
  const balancer = new Balancer('least-connections');
  assert.deepEqual(picks(balancer, list('a', 'b', 'c'), 6), ['a', 'b', 'c', 'a', 'b', 'c']);
  balancer.acquire('a');
  assert.deepEqual(picks(balancer, list('a', 'b', 'c'), 4), ['b', 'c', 'b', 'c']);
});

test('least-connections respects exclusion even when the excluded one is idlest', () => {
  const balancer = new Balancer('least-connections');
  balancer.acquire('b');
  assert.equal(balancer.pick(list('a', 'b'), new Set(['a']))?.id, 'b');
});

test('acquire and release count active connections; a release without acquire fails loudly', () => {
  const balancer = new Balancer('least-connections');
  balancer.acquire('a');
  balancer.acquire('a');
  balancer.release('a');
  assert.equal(balancer.active('a'), 1);
  balancer.release('a');
  assert.equal(balancer.active('a'), 0);
  assert.throws(() => balancer.release('a'), BalancerStateError);
});

test('switching strategy keeps the counts', () => {
  const balancer = new Balancer('round-robin');
  balancer.acquire('a');
  balancer.strategy = 'least-connections';
  assert.equal(balancer.pick(list('a', 'b'))?.id, 'b');
});
