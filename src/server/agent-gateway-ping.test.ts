/**
 * Pings are heartbeats (a bare gateway on loopback, a raw WebSocket for the agent): the welcome
 * lists `ping-heartbeat`, and an agent that only pings is heard (its node's last beat moves, it
 * stays ready past its heartbeat timeout) and answered with a pong, without a `heartbeat` message.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import { FEATURES, PROTOCOL_VERSION } from '../protocol/features.ts';
import { hello, openAgent, startGateway } from './gateway-fixture.ts';
import { DEFAULT_LIVENESS, livenessStatus } from './node-liveness.ts';

test('an agent that only pings is heard, and each ping answered', async () => {
  let nowMs = 1_000_000;
  const { cluster, agentUrl, close } = await startGateway({ nodeName: 'pinger', now: () => nowMs });
  const { socket, received } = await openAgent<{ type?: string; features?: string[] }>(agentUrl);
  let pongs = 0;
  socket.on('pong', () => pongs++);
  try {
    socket.send(
      JSON.stringify(
        hello('pinger', {
          cluster_id: null,
          protocol_version: PROTOCOL_VERSION,
          features: [FEATURES.heartbeatInterval, FEATURES.pingHeartbeat],
        }),
      ),
    );
    const welcome = await eventually('welcomed', () => received.find((m) => m.type === 'welcome'), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    assert.ok(welcome.features?.includes(FEATURES.pingHeartbeat), 'the welcome says pings are beats');
    const joinedAt = nowMs;
    for (let beat = 1; beat <= 5; beat++) {
      // Each ping 1 s after the last: past the 1.5 s timeout from the hello without them.
      nowMs += 1000;
      socket.ping();
      await eventually(`pong ${beat}`, () => pongs >= beat, { timeoutMs: 5000, intervalMs: 5 });
      await eventually('the ping counted as a beat', () => cluster.get('pinger')?.lastSeen === nowMs, {
        timeoutMs: 5000,
        intervalMs: 5,
      });
    }
    const session = cluster.get('pinger');
    assert.ok(session);
    assert.equal(session.lastHeartbeat, nowMs);
    assert.ok(nowMs - joinedAt > DEFAULT_LIVENESS.downAfterMs, 'longer than a silent node would last');
    const status = livenessStatus(
      { connected: true, lastSeen: session.lastSeen, downNotBefore: 0 },
      nowMs + 100,
      DEFAULT_LIVENESS,
    );
    assert.equal(status, 'ready');
  } finally {
    socket.close();
    await close();
  }
});
