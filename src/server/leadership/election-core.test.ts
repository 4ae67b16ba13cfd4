import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ElectionInput, ElectionState, LeaderRecord } from './election-core.ts';
import { CAMPAIGN_RETRY_MS, initialElection, LEASE_MARGIN_MS, stepElection } from './election-core.ts';

const me: LeaderRecord = { id: 's1', url: 'https://10.0.0.1:8080', since: 1000, lease: '7' };
const other: LeaderRecord = { id: 's2', url: 'https://10.0.0.2:8080', since: 900, lease: '9' };

/** Runs inputs at times, returning the final state and every action kind in order. */
function run(inputs: readonly [number, ElectionInput][], start: ElectionState = initialElection('s1')) {
  let state = start;
  const trace: string[] = [];
  for (const [at, input] of inputs) {
    const step = stepElection(state, input, at);
    state = step.state;
    for (const action of step.actions) trace.push(action.kind);
  }
  return { state, trace };
}

describe('election core', () => {
  test('nobody leads: campaign once the lease is granted, lead once the key is ours', () => {
    const { state, trace } = run([
      [0, { kind: 'holder', holder: undefined }],
      [10, { kind: 'lease-granted', id: '7', sentAtMs: 5, ttlMs: 2000 }],
      [20, { kind: 'holder', holder: undefined }],
      [30, { kind: 'campaign-done', won: true, holder: me }],
    ]);
    assert.deepEqual(trace, ['campaign', 'start-leading']);
    assert.equal(state.leading, true);
  });

  test('another server leads: no campaign, no leading', () => {
    const { state, trace } = run([
      [0, { kind: 'holder', holder: other }],
      [10, { kind: 'lease-granted', id: '7', sentAtMs: 5, ttlMs: 2000 }],
      [500, { kind: 'tick' }],
    ]);
    assert.deepEqual(trace, []);
    assert.equal(state.leading, false);
    assert.equal(state.holder?.id, 's2');
  });

  test('the leader key is deleted (its lease expired): the follower campaigns at once', () => {
    const { trace } = run([
      [0, { kind: 'lease-granted', id: '7', sentAtMs: 0, ttlMs: 2000 }],
      [0, { kind: 'holder', holder: other }],
      [0, { kind: 'campaign-done', won: false, holder: other }],
      [900, { kind: 'holder', holder: undefined }],
    ]);
    assert.deepEqual(trace, ['campaign', 'campaign']);
  });

  test('a leader whose keepalives stop steps down on its own clock, before etcd can expire the lease', () => {
    const leading = run([
      [0, { kind: 'lease-granted', id: '7', sentAtMs: 0, ttlMs: 2000 }],
      [0, { kind: 'holder', holder: me }],
      [400, { kind: 'keepalive', id: '7', sentAtMs: 400, ttlMs: 2000 }],
    ]);
    assert.equal(leading.state.leading, true);
    const expiry = 400 + 2000 - LEASE_MARGIN_MS;
    const before = stepElection(leading.state, { kind: 'tick' }, expiry - 1);
    assert.equal(before.state.leading, true);
    const after = stepElection(before.state, { kind: 'tick' }, expiry);
    assert.equal(after.state.leading, false);
    assert.deepEqual(
      after.actions.map((a) => a.kind),
      ['stop-leading'],
    );
    // Etcd expires the lease no sooner than TTL after the keepalive was answered, which is later.
    assert.ok(expiry < 400 + 2000);
  });

  test('a lost lease: stop leading, ask for a new one, campaign again once the old key is gone', () => {
    const leading = run([
      [0, { kind: 'lease-granted', id: '7', sentAtMs: 0, ttlMs: 2000 }],
      [0, { kind: 'campaign-done', won: true, holder: me }],
    ]);
    const { state, trace } = run(
      [
        [500, { kind: 'lease-lost' }],
        [600, { kind: 'lease-granted', id: '8', sentAtMs: 550, ttlMs: 2000 }],
        [700, { kind: 'holder', holder: undefined }],
      ],
      leading.state,
    );
    assert.deepEqual(trace, ['grant-lease', 'stop-leading', 'campaign']);
    assert.equal(state.leading, false);
  });

  test('another server holds the key (a leader that was paused sees it on waking): stop at once', () => {
    const leading = run([
      [0, { kind: 'lease-granted', id: '7', sentAtMs: 0, ttlMs: 2000 }],
      [0, { kind: 'holder', holder: me }],
    ]);
    const step = stepElection(leading.state, { kind: 'holder', holder: other }, 100);
    assert.equal(step.state.leading, false);
    assert.deepEqual(
      step.actions.map((a) => a.kind),
      ['stop-leading'],
    );
  });

  test('a campaign without an answer is retried after a pause, not in a loop', () => {
    const granted = run([
      [0, { kind: 'lease-granted', id: '7', sentAtMs: 0, ttlMs: 2000 }],
      [0, { kind: 'holder', holder: undefined }],
    ]);
    const failed = stepElection(granted.state, { kind: 'campaign-done', won: false, holder: undefined }, 100);
    assert.deepEqual(failed.actions, []);
    const early = stepElection(failed.state, { kind: 'tick' }, 100 + CAMPAIGN_RETRY_MS - 1);
    assert.deepEqual(early.actions, []);
    const retry = stepElection(early.state, { kind: 'tick' }, 100 + CAMPAIGN_RETRY_MS);
    assert.deepEqual(
      retry.actions.map((a) => a.kind),
      ['campaign'],
    );
  });

  test('without a lease there is no campaign and no leading, even holding the key', () => {
    const { state, trace } = run([
      [0, { kind: 'holder', holder: undefined }],
      [0, { kind: 'holder', holder: me }],
    ]);
    assert.deepEqual(trace, []);
    assert.equal(state.leading, false);
  });
});
