/**
 * The stats cadence at the gateway (a bare gateway on loopback, a raw WebSocket for the agent): a
 * welcome into a small cluster says nothing of it (every agent keeps its own 5 s), and one into a
 * large cluster carries `stats_interval_ms`, the interval stats-cadence.ts gives for its size.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import { AGENT_FEATURES, PROTOCOL_VERSION } from '../protocol/features.ts';
import { hello, openAgent, startGateway } from './gateway-fixture.ts';
import { registration } from './pass-fixture.ts';
import { STATS_BASE_MS, statsIntervalMs } from './stats-cadence.ts';

async function welcomeInto(othersJoined: number): Promise<{ stats_interval_ms?: number }> {
  const fixture = await startGateway({ nodeName: 'newcomer' });
  for (let i = 0; i < othersJoined; i++) {
    const outcome = fixture.cluster.connect(
      registration(`n${i}`),
      { send() {}, close() {} },
      Date.now(),
      AGENT_FEATURES,
    );
    assert.ok(outcome.ok);
  }
  const { socket, received } = await openAgent<{ type?: string; stats_interval_ms?: number }>(
    fixture.agentUrl,
  );
  try {
    socket.send(
      JSON.stringify(
        hello('newcomer', { cluster_id: null, protocol_version: PROTOCOL_VERSION, features: AGENT_FEATURES }),
      ),
    );
    return await eventually('welcomed', () => received.find((m) => m.type === 'welcome'), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
  } finally {
    socket.close();
    await fixture.close();
  }
}

test('a welcome into a small cluster leaves the stats interval to the agent', async () => {
  const welcome = await welcomeInto(4);
  assert.equal(welcome.stats_interval_ms, undefined);
});

test('a welcome into a 1,000-node cluster carries the longer stats interval', async () => {
  const welcome = await welcomeInto(999);
  const expected = statsIntervalMs(STATS_BASE_MS, 1000);
  assert.ok(expected > STATS_BASE_MS);
  assert.equal(welcome.stats_interval_ms, expected);
});
