import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptedProtocols, checkAgentProtocol, closeReasonFor } from './compatibility.ts';
import { PROTOCOL_VERSION } from './features.ts';

test('a server accepts its own protocol, the one before and the one after', () => {
  for (const version of [4, 5, 6]) assert.deepEqual(checkAgentProtocol(version, 5), { ok: true, version });
  assert.deepEqual(acceptedProtocols(5), { min: 4, max: 6 });
});

test('an agent two versions behind is too old, and told to upgrade', () => {
  const check = checkAgentProtocol(3, 5);
  assert.equal(check.ok, false);
  assert.ok(!check.ok && check.tooOld);
  assert.match(!check.ok ? check.reason : '', /agent protocol 3 is too old .*accepts 4-6.*upgrade the agent/);
});

test('an agent two versions ahead is too new: servers are upgraded first', () => {
  const check = checkAgentProtocol(7, 5);
  assert.ok(!check.ok && !check.tooOld);
  assert.match(!check.ok ? check.reason : '', /too new.*upgrade the servers first/);
});

test('a hello without a version is protocol 1: accepted by a protocol-2 server, too old for 3', () => {
  assert.equal(checkAgentProtocol(undefined, 2).ok, true);
  const check = checkAgentProtocol(undefined, 3);
  assert.ok(!check.ok && check.tooOld && check.version === 1);
});

test('close reasons fit a WebSocket close frame (123 bytes)', () => {
  for (const version of [1, 999_999]) {
    const check = checkAgentProtocol(version, 500_000);
    assert.ok(!check.ok);
    if (!check.ok) assert.ok(Buffer.byteLength(closeReasonFor(check, 500_000)) <= 123);
  }
});

test('today’s agents are accepted by today’s server', () => {
  assert.equal(checkAgentProtocol(PROTOCOL_VERSION, PROTOCOL_VERSION).ok, true);
  assert.equal(checkAgentProtocol(PROTOCOL_VERSION - 1, PROTOCOL_VERSION).ok, true);
});
