import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_LIVENESS,
  DOWN_TOGETHER_MS,
  downAt,
  groupDownAt,
  heartbeatIntervalMs,
  livenessFor,
  livenessStatus,
  MAX_HEARTBEATS_PER_S,
  retoldIntervalMs,
} from './node-liveness.ts';

const settings = { heartbeatTimeoutMs: 1500, downAfterMs: 3000 };

test('a connected node heard from recently is ready', () => {
  assert.equal(
    livenessStatus({ connected: true, lastSeen: 1000, downNotBefore: 0 }, 2000, settings),
    'ready',
  );
  assert.equal(
    livenessStatus({ connected: true, lastSeen: 1000, downNotBefore: 0 }, 2500, settings),
    'ready',
  );
});

test('a dropped connection is unreachable at once, down after the grace', () => {
  assert.equal(
    livenessStatus({ connected: false, lastSeen: 1000, downNotBefore: 0 }, 1000, settings),
    'unreachable',
  );
  assert.equal(
    livenessStatus({ connected: false, lastSeen: 1000, downNotBefore: 0 }, 3999, settings),
    'unreachable',
  );
  assert.equal(
    livenessStatus({ connected: false, lastSeen: 1000, downNotBefore: 0 }, 4000, settings),
    'down',
  );
});

test('silent heartbeats on a live connection: unreachable past the timeout, then down', () => {
  assert.equal(
    livenessStatus({ connected: true, lastSeen: 1000, downNotBefore: 0 }, 2501, settings),
    'unreachable',
  );
  assert.equal(livenessStatus({ connected: true, lastSeen: 1000, downNotBefore: 0 }, 4000, settings), 'down');
});

test('a node that is heard from again is ready again', () => {
  assert.equal(
    livenessStatus({ connected: true, lastSeen: 9000, downNotBefore: 0 }, 9100, settings),
    'ready',
  );
});

test('nodes known before a server restart are not down before the startup grace', () => {
  const input = { connected: false, lastSeen: 1000, downNotBefore: 11_000 };
  assert.equal(livenessStatus(input, 5000, settings), 'unreachable');
  assert.equal(livenessStatus(input, 11_000, settings), 'down');
});

test('heartbeats slow down with the cluster: at most MAX_HEARTBEATS_PER_S, never below the base', () => {
  assert.equal(heartbeatIntervalMs(500, 3), 500);
  assert.equal(heartbeatIntervalMs(500, 40), 500);
  // Told for 25% more nodes than there are: 12.5 s at 1,000 nodes, 100 a second at 1,250.
  assert.equal(heartbeatIntervalMs(500, 1000), 12_500);
  for (const nodes of [41, 50, 51, 333, 1000, 5000])
    assert.ok(nodes / (heartbeatIntervalMs(500, nodes) / 1000) <= MAX_HEARTBEATS_PER_S, `${nodes} nodes`);
});

test('re-told once the cluster has grown past what the told interval allows, never at every join', () => {
  const told = heartbeatIntervalMs(500, 800); // 10 s: 100 a second at 1,000 nodes
  assert.equal(retoldIntervalMs(told, heartbeatIntervalMs(500, 1000)), undefined, 'at the cap: as it is');
  assert.equal(retoldIntervalMs(told, heartbeatIntervalMs(500, 1001)), heartbeatIntervalMs(500, 1001));
  assert.equal(retoldIntervalMs(500, heartbeatIntervalMs(500, 50)), undefined, 'the base holds to 50 nodes');
  assert.equal(retoldIntervalMs(500, heartbeatIntervalMs(500, 51)), heartbeatIntervalMs(500, 51));
  assert.equal(retoldIntervalMs(told, 500), undefined, 'never shorter');
});

test('liveness follows the interval a node was given; a dropped connection keeps the base grace', () => {
  assert.deepEqual(livenessFor(settings, 500, 500), settings, 'small clusters keep today’s values');
  const slow = livenessFor(settings, 500, 4000);
  assert.equal(slow.heartbeatTimeoutMs, 12_000);
  assert.equal(slow.silentDownAfterMs, 13_500, 'the same 1.5 s grace after the timeout');
  const input = { connected: true, lastSeen: 0, downNotBefore: 0 };
  assert.equal(livenessStatus(input, 11_000, slow), 'ready', 'three slow heartbeats may be missed');
  assert.equal(livenessStatus(input, 12_500, slow), 'unreachable');
  assert.equal(livenessStatus(input, 13_500, slow), 'down');
  assert.equal(livenessStatus({ ...input, connected: false }, 3000, slow), 'down');
});

test('probed down: a silent node is down at once, after the startup grace; a ready one is not', () => {
  const base = { connected: false, lastSeen: 1000, downNotBefore: 0, probedDown: true };
  assert.equal(livenessStatus(base, 1200, DEFAULT_LIVENESS), 'down');
  assert.equal(livenessStatus({ ...base, probedDown: false }, 1200, DEFAULT_LIVENESS), 'unreachable');
  assert.equal(livenessStatus({ ...base, downNotBefore: 5000 }, 1200, DEFAULT_LIVENESS), 'unreachable');
  assert.equal(livenessStatus({ ...base, connected: true }, 1200, DEFAULT_LIVENESS), 'ready');
});

test('downAt: when an unreachable node turns down by time alone, for every way it can be', () => {
  const dropped = { connected: false, lastSeen: 1000, downNotBefore: 0 };
  assert.equal(downAt(dropped, 1000, settings), 4000);
  assert.equal(livenessStatus(dropped, 4000, settings), 'down');
  assert.equal(downAt(dropped, 4000, settings), undefined, 'down already');
  const silent = { connected: true, lastSeen: 1000, downNotBefore: 0 };
  const longer = { ...settings, silentDownAfterMs: 9000 };
  assert.equal(downAt(silent, 2000, settings), undefined, "ready: its silence is the tick's to see");
  assert.equal(downAt(silent, 2600, longer), 10_000);
  assert.equal(livenessStatus(silent, 10_000, longer), 'down');
  assert.equal(livenessStatus(silent, 9999, longer), 'unreachable');
  // The server's startup grace holds it, probed down or not.
  const starting = { connected: false, lastSeen: 1000, downNotBefore: 12_000 };
  assert.equal(downAt(starting, 5000, settings), 12_000);
  assert.equal(downAt({ ...starting, probedDown: true }, 2000, settings), 12_000);
  assert.equal(livenessStatus({ ...starting, probedDown: true }, 12_000, settings), 'down');
});

test('groupDownAt: nodes whose graces end together go down at the last of them, later ones wait', () => {
  assert.equal(groupDownAt([]), undefined);
  assert.equal(groupDownAt([5000]), 5000);
  assert.equal(groupDownAt([5090, 5000, 5040]), 5090, 'dropped together: one pass');
  assert.equal(groupDownAt([5000, 5000 + DOWN_TOGETHER_MS + 1, 5020]), 5020, 'a later one waits for its own');
});
