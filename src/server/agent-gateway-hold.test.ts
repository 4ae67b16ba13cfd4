/**
 * The gateway of an HA follower (no Docker, a bare gateway on loopback): an agent that arrives
 * while nobody leads is held, the server it could not reach is reported (it gets probed), and
 * when this server is elected the agent is served on the same connection, its hello (sent while
 * held) read then, with no redial.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import { PROTOCOL_VERSION } from '../protocol/features.ts';
import type { Unreachable } from './agent-gateway.ts';
import { hello, openAgent, startGateway } from './gateway-fixture.ts';
import type { AgentAdmission } from './leadership/agent-admission.ts';

test('a held agent is served where it is once this server leads, its hello read then', async () => {
  let admission: AgentAdmission = { kind: 'hold' };
  const suspected: Unreachable[] = [];
  const { cluster, gateway, agentUrl, close } = await startGateway({
    nodeName: 'held',
    admit: () => admission,
    onHold: (unreachable) => suspected.push(unreachable),
  });
  const url = new URL(agentUrl);
  url.searchParams.set('unreachable', 'https://10.0.0.9:8080');
  const { socket, received } = await openAgent<{ type?: string }>(url);
  let closes = 0;
  socket.on('close', () => closes++);
  try {
    socket.send(JSON.stringify(hello('held', { cluster_id: null, protocol_version: PROTOCOL_VERSION })));
    await eventually('the dead leader reported', () => suspected.length > 0, {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    assert.equal(suspected[0]?.url, 'https://10.0.0.9:8080');
    // Held: nothing answered, the node not connected.
    await new Promise((done) => setTimeout(done, 100));
    assert.equal(received.length, 0);
    assert.equal(cluster.get('held'), undefined);
    // Still held when reconsidered while nobody leads.
    gateway.reconsider();
    assert.equal(closes, 0);
    admission = { kind: 'accept' };
    gateway.reconsider();
    await eventually('welcomed on the same connection', () => received.some((m) => m.type === 'welcome'), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    assert.equal(cluster.get('held')?.status, 'ready');
    assert.equal(closes, 0, 'never closed: no redial');
  } finally {
    socket.close();
    await close();
  }
});
