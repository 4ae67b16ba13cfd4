/**
 * The nodes' time bounds of a quiet pass (pass-quiet.ts `nodesBound`): a ready node's silence, the
 * end of the first graces (`downAt`), a disconnected node's startup grace, the earliest of them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIVENESS } from './node-liveness.ts';
import { NOW, node } from './pass-fixture.ts';
import { nodesBound } from './pass-quiet.ts';

const TIMEOUT = DEFAULT_LIVENESS.heartbeatTimeoutMs;
const silent = node('c', { status: 'unreachable', connected: false, lastSeen: NOW - 100 });

test('inside a grace: the earliest of its end and the ready nodes’ silence', () => {
  const downAt = NOW + 2900;
  assert.equal(nodesBound([node('a'), silent], downAt, NOW), NOW + TIMEOUT, 'a would turn unreachable first');
  assert.equal(nodesBound([node('a', { lastSeen: NOW + 2000 }), silent], downAt, NOW), downAt);
  assert.equal(
    nodesBound([silent, node('d', { status: 'down' })], downAt, NOW),
    downAt,
    'down nodes wait on nothing',
  );
});

test('an unreachable node without its grace’s end: no bound', () => {
  assert.equal(nodesBound([node('a'), silent], undefined, NOW), undefined);
  assert.equal(nodesBound([node('a')], undefined, NOW), NOW + TIMEOUT);
});

test('a disconnected node inside the startup grace is served as ready until it ends: a bound', () => {
  const starting = { ...silent, downNotBefore: NOW + 1000 };
  assert.equal(nodesBound([starting], NOW + 2900, NOW), NOW + 1000);
  assert.equal(nodesBound([starting], NOW + 2900, NOW + 1000), NOW + 2900, 'over: no longer read');
});
