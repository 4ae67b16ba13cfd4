import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DialOutcome, ServerChoice } from './server-choice.ts';
import {
  currentServer,
  dialUrl,
  firstChoice,
  MAX_REDIRECTS,
  NO_LEADER_RETRY_MS,
  nextChoice,
  parseServerList,
} from './server-choice.ts';

const A = 'https://10.0.0.1:8080';
const B = 'https://10.0.0.2:8080';
const C = 'https://10.0.0.3:8080';

function walk(start: ServerChoice, outcomes: readonly DialOutcome[]) {
  let choice = start;
  const dials: [string, number][] = [];
  for (const outcome of outcomes) {
    const next = nextChoice(choice, outcome);
    choice = next.choice;
    dials.push([currentServer(choice), next.delayMs]);
  }
  return { choice, dials };
}

describe('server choice', () => {
  test('the leader dies: the next server at once, which names the new leader, dialled at once', () => {
    const { dials } = walk(firstChoice([A, B, C]), [
      { kind: 'welcomed' },
      { kind: 'failed' },
      { kind: 'redirected', leaderUrl: C },
      { kind: 'welcomed' },
    ]);
    assert.deepEqual(dials, [
      [A, 0],
      [B, 0],
      [C, 0],
      [C, 0],
    ]);
  });

  test('every server gone: one quick round back to the first, then the dropped-connection backoff per round', () => {
    const { dials } = walk(
      firstChoice([A, B, C]),
      Array.from({ length: 7 }, () => ({ kind: 'failed' }) as const),
    );
    assert.deepEqual(
      dials.map(([, delay]) => delay),
      [0, 0, 0, 250, 250, 250, 500],
    );
    assert.deepEqual(
      dials.map(([url]) => url),
      [B, C, A, B, C, A, B],
    );
  });

  test('one server: a dropped connection is dialled again at once, then the backoff', () => {
    const { dials } = walk(firstChoice([A]), [
      { kind: 'failed' },
      { kind: 'failed' },
      { kind: 'failed' },
      { kind: 'failed' },
    ]);
    assert.deepEqual(dials, [
      [A, 0],
      [A, 250],
      [A, 500],
      [A, 1000],
    ]);
  });

  test('a leader URL outside the list is followed, and a failure there returns to the list', () => {
    const elsewhere = 'https://10.0.0.9:8080';
    const { dials } = walk(firstChoice([A, B]), [
      { kind: 'redirected', leaderUrl: elsewhere },
      { kind: 'failed' },
    ]);
    assert.deepEqual(dials, [
      [elsewhere, 0],
      [A, 0],
    ]);
  });

  test('redirects that never end in a welcome turn into backoff (two servers naming each other)', () => {
    let choice = firstChoice([A, B]);
    let last = 0;
    for (let i = 0; i < MAX_REDIRECTS * 2 + 1; i++) {
      const next = nextChoice(choice, { kind: 'redirected', leaderUrl: i % 2 === 0 ? B : A });
      choice = next.choice;
      last = next.delayMs;
    }
    assert.ok(last > 0, 'the loop is slowed down');
  });

  test('no leader yet: the next server after a short pause, without growing the backoff', () => {
    const { choice, dials } = walk(firstChoice([A, B, C]), [
      { kind: 'no-leader' },
      { kind: 'no-leader' },
      { kind: 'no-leader' },
      { kind: 'no-leader' },
    ]);
    assert.deepEqual(
      dials.map(([, delay]) => delay),
      [NO_LEADER_RETRY_MS, NO_LEADER_RETRY_MS, NO_LEADER_RETRY_MS, NO_LEADER_RETRY_MS],
    );
    assert.equal(choice.misses, 0);
  });

  test('--server lists: trimmed, no trailing slash, no empties or repeats', () => {
    assert.deepEqual(parseServerList(` ${A}/, ${B},,${A} `), [A, B]);
    assert.throws(() => firstChoice([]), /no server/);
  });
});

test('the server that failed is named to the next one, until a welcome', () => {
  let choice = firstChoice([A, B, C]);
  choice = nextChoice(choice, { kind: 'failed' }).choice;
  assert.equal(
    dialUrl(choice, '/agent/v1').href,
    `wss://10.0.0.2:8080/agent/v1?unreachable=${encodeURIComponent(A)}`,
  );
  choice = nextChoice(choice, { kind: 'redirected', leaderUrl: C }).choice;
  assert.equal(dialUrl(choice, '/agent/v1').searchParams.get('unreachable'), A);
  choice = nextChoice(choice, { kind: 'welcomed' }).choice;
  assert.equal(dialUrl(choice, '/agent/v1').href, 'wss://10.0.0.3:8080/agent/v1');
});

test('a server that knows no leader is named to the next as unreachable (it may still be named the leader)', () => {
  const choice = nextChoice(firstChoice([A, B]), { kind: 'no-leader' }).choice;
  assert.equal(dialUrl(choice, '/agent/v1').searchParams.get('unreachable'), A);
});

test('the leader that served us steps down: the next server at once, not after the no-leader pause', () => {
  const welcomed = nextChoice(firstChoice([A, B, C]), { kind: 'welcomed' }).choice;
  const next = nextChoice(welcomed, { kind: 'no-leader', served: true });
  assert.equal(currentServer(next.choice), B);
  assert.equal(next.delayMs, 0);
  assert.equal(dialUrl(next.choice, '/agent/v1').searchParams.get('unreachable'), A);
  assert.equal(nextChoice(welcomed, { kind: 'no-leader' }).delayMs, NO_LEADER_RETRY_MS);
});

test('a dial that waited on a silent server counts its wait against the delay before the next', () => {
  let choice = firstChoice([A]);
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const next = nextChoice(choice, { kind: 'failed', waitedMs: 2000 });
    choice = next.choice;
    delays.push(next.delayMs);
  }
  assert.deepEqual(delays, [0, 0, 0, 0]);
  assert.equal(nextChoice(choice, { kind: 'failed', waitedMs: 100 }).delayMs, 900);
  assert.equal(nextChoice(choice, { kind: 'failed' }).delayMs, 1000);
});
