import assert from 'node:assert/strict';
import { test } from 'node:test';
import { livenessStatus } from './node-liveness.ts';

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
