import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PullPhase } from '../model/rollout.ts';
import type { PrePullInput, PullTarget } from './pre-pull.ts';
import { samePhase, stepPrePull } from './pre-pull.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const IMAGE = 'app:v2';

function target(id: string, change: Partial<PullTarget> = {}): PullTarget {
  return { id, canPull: true, asked: false, observed: undefined, ...change };
}

function step(change: Partial<PrePullInput> = {}) {
  return stepPrePull({
    image: IMAGE,
    phase: undefined,
    targets: [],
    maxParallel: 2,
    deadlineMs: 60_000,
    now: T0,
    ...change,
  });
}

test('a new phase asks the first nodes up to the bound, in node order, and waits for the rest', () => {
  const { phase, ask, failure } = step({ targets: [target('n3'), target('n1'), target('n2')] });
  assert.deepEqual(ask, ['n1', 'n2']);
  assert.equal(failure, null);
  assert.equal(phase.state, 'pulling');
  assert.deepEqual(
    phase.nodes.map((n) => [n.node, n.state, n.started_at]),
    [
      ['n1', 'pulling', '2026-01-01T00:00:00.000Z'],
      ['n2', 'pulling', '2026-01-01T00:00:00.000Z'],
      ['n3', 'waiting', null],
    ],
  );
});

test('a node that finished frees its place for a waiting one', () => {
  const first = step({ targets: [target('n1'), target('n2'), target('n3')] });
  const next = step({
    phase: first.phase,
    now: T0 + 1000,
    targets: [
      target('n1', { asked: true, observed: { state: 'pulled', message: null, at: T0 + 900 } }),
      target('n2', { asked: true, observed: { state: 'pulling', message: null, at: T0 + 10 } }),
      target('n3'),
    ],
  });
  assert.deepEqual(next.ask, ['n3']);
  assert.deepEqual(
    next.phase.nodes.map((n) => [n.node, n.state]),
    [
      ['n1', 'pulled'],
      ['n2', 'pulling'],
      ['n3', 'pulling'],
    ],
  );
  assert.equal(next.phase.nodes[0]?.finished_at, '2026-01-01T00:00:00.900Z');
  assert.equal(next.phase.nodes[1]?.started_at, '2026-01-01T00:00:00.000Z', 'its start is kept');
});

test('the phase is done once every target pulled or was skipped, and stays done', () => {
  const targets = [
    target('n1', { asked: true, observed: { state: 'pulled', message: null, at: T0 + 5 } }),
    target('old', { canPull: false }),
  ];
  const done = step({ targets, now: T0 + 10 });
  assert.equal(done.phase.state, 'done');
  assert.equal(done.phase.finished_at, '2026-01-01T00:00:00.010Z');
  assert.deepEqual(done.ask, []);
  assert.equal(done.phase.nodes[1]?.state, 'skipped');
  assert.match(done.phase.nodes[1]?.message ?? '', /pulls when its replica starts/);
  // A finished phase is final: a node joining later changes nothing.
  const later = step({ phase: done.phase, targets: [...targets, target('n9')], now: T0 + 99_000 });
  assert.equal(later.phase, done.phase);
  assert.deepEqual(later.ask, []);
});

test('no node to pull on: the phase is done at once (the replicas wait for a node, not for a pull)', () => {
  const { phase, ask } = step({ targets: [] });
  assert.equal(phase.state, 'done');
  assert.deepEqual(ask, []);
});

test('one node failing fails the phase with its reason, and nothing more is asked', () => {
  const first = step({ targets: [target('n1'), target('n2'), target('n3')], maxParallel: 2 });
  const failedAt = T0 + 300;
  const next = step({
    phase: first.phase,
    now: T0 + 400,
    targets: [
      target('n1', {
        asked: true,
        observed: { state: 'failed', message: 'pull 127.0.0.1:1/x:v2: connection refused', at: failedAt },
      }),
      target('n2', { asked: true }),
      target('n3'),
    ],
  });
  assert.equal(next.phase.state, 'failed');
  assert.deepEqual(next.ask, [], 'a failed phase asks no one');
  assert.equal(
    next.failure,
    'image app:v2 could not be pulled on n1: pull 127.0.0.1:1/x:v2: connection refused',
  );
  // Stored and read back, it says the same and stays failed.
  const again = step({ phase: next.phase, now: T0 + 5000, targets: [target('n1')] });
  assert.equal(again.failure, next.failure);
  assert.equal(again.phase.state, 'failed');
});

test('several failures name every failed node', () => {
  const { failure } = step({
    targets: [
      target('n1', { observed: { state: 'failed', message: 'no such host', at: T0 } }),
      target('n2', { observed: { state: 'failed', message: 'no such host', at: T0 } }),
    ],
  });
  assert.equal(failure, 'image app:v2 could not be pulled on n1: no such host (and on n2)');
});

test('a phase not finished within the deadline fails, naming the nodes still pulling', () => {
  const first = step({ targets: [target('n1'), target('n2')] });
  const within = step({
    phase: first.phase,
    now: T0 + 60_000,
    targets: [target('n1', { asked: true }), target('n2', { asked: true })],
  });
  assert.equal(within.phase.state, 'pulling', 'exactly at the deadline it still waits');
  const late = step({
    phase: first.phase,
    now: T0 + 60_001,
    targets: [
      target('n1', { asked: true, observed: { state: 'pulled', message: null, at: T0 + 50 } }),
      target('n2', { asked: true }),
    ],
  });
  assert.equal(late.phase.state, 'failed');
  assert.equal(late.failure, 'image app:v2 not pulled within 60s on n2');
  assert.deepEqual(
    late.phase.nodes.map((n) => [n.node, n.state, n.message]),
    [
      ['n1', 'pulled', null],
      ['n2', 'failed', 'pull deadline passed'],
    ],
  );
});

test('a pull asked over a link that dropped is asked again; one already pulled is not', () => {
  const first = step({ targets: [target('n1'), target('n2')] });
  const pulled = step({
    phase: first.phase,
    now: T0 + 100,
    targets: [
      target('n1', { asked: true, observed: { state: 'pulled', message: null, at: T0 + 50 } }),
      target('n2', { asked: true }),
    ],
  });
  // The server restarted (or the links dropped): nothing asked, nothing observed.
  const after = step({ phase: pulled.phase, now: T0 + 200, targets: [target('n1'), target('n2')] });
  assert.deepEqual(after.ask, ['n2']);
  assert.equal(after.phase.nodes[0]?.state, 'pulled', 'a recorded pull stands');
  assert.equal(after.phase.nodes[1]?.started_at, '2026-01-01T00:00:00.000Z');
});

test('nodes leave and join the targets while the phase runs', () => {
  const first = step({ targets: [target('n1'), target('n2')], maxParallel: 4 });
  const next = step({
    phase: first.phase,
    now: T0 + 100,
    targets: [target('n2', { asked: true }), target('n4')],
  });
  assert.deepEqual(
    next.phase.nodes.map((n) => n.node),
    ['n2', 'n4'],
  );
  assert.deepEqual(next.ask, ['n4']);
});

test('a phase stored for another image starts over (a new rollout superseded it)', () => {
  const old: PullPhase = {
    image: 'app:v1',
    state: 'failed',
    started_at: '2025-01-01T00:00:00.000Z',
    finished_at: '2025-01-01T00:00:01.000Z',
    nodes: [],
  };
  const { phase, ask } = step({ phase: old, targets: [target('n1')] });
  assert.equal(phase.image, IMAGE);
  assert.equal(phase.state, 'pulling');
  assert.deepEqual(ask, ['n1']);
});

test('the same inputs give the same step, and a step applied again changes nothing', () => {
  const input = { targets: [target('n1'), target('n2'), target('n3')] };
  assert.deepEqual(step(input), step(input));
  const first = step(input);
  const again = step({
    phase: first.phase,
    targets: [target('n1', { asked: true }), target('n2', { asked: true }), target('n3')],
  });
  assert.deepEqual(again.ask, []);
  assert.ok(samePhase(first.phase, again.phase));
});

test('a bound below one is a caller bug', () => {
  assert.throws(() => step({ maxParallel: 0 }), RangeError);
});
