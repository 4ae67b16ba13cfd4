/**
 * The gateway of an HA follower (no Docker, a bare gateway on loopback): an agent that arrives
 * while nobody leads is held, the server it could not reach is reported (it gets probed), and
 * when this server is elected the agent is served on the same connection, its hello (sent while
 * held) read then, with no redial.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { eventually } from '../../test/support/eventually.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { PROTOCOL_VERSION } from '../protocol/features.ts';
import { AGENT_PATH } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { attachAgentGateway, type Unreachable } from './agent-gateway.ts';
import { Cluster } from './cluster.ts';
import type { Controller } from './controller.ts';
import { EventLog } from './event-log.ts';
import { ExecBroker } from './exec-broker.ts';
import type { AgentAdmission } from './leadership/agent-admission.ts';
import { LogBroker } from './log-broker.ts';

const hello = (name: string) => ({
  type: 'hello',
  agent_version: '0.1.0',
  node: {
    name,
    engine_id: `engine-${name}`,
    address: '127.0.0.1',
    labels: {},
    cpu_millicores: 2000,
    memory_bytes: 2 ** 31,
    engine_version: '20.10.0',
  },
  cluster_id: null,
  protocol_version: PROTOCOL_VERSION,
});

test('a held agent is served where it is once this server leads, its hello read then', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-gateway-hold-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  const cluster = new Cluster(store, Date.now());
  const controller = { trigger() {}, applyReport() {}, paused: false } as unknown as Controller;
  let admission: AgentAdmission = { kind: 'hold' };
  const suspected: Unreachable[] = [];
  const http = createServer((_, response) => response.end());
  const gateway = attachAgentGateway(http, {
    authenticate: () => ({ nodeName: 'held' }),
    admit: () => admission,
    onHold: (unreachable) => suspected.push(unreachable),
    clusterId: 'cluster-1',
    addressPool: DEFAULT_POOL,
    heartbeatIntervalMs: 500,
    cluster,
    controller,
    events: new EventLog(store),
    logs: new LogBroker(cluster),
    execs: new ExecBroker(cluster),
    now: Date.now,
    log: () => {},
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const url = new URL(AGENT_PATH, `ws://127.0.0.1:${port}`);
  url.searchParams.set('unreachable', 'https://10.0.0.9:8080');
  const socket = new WebSocket(url);
  const received: { type?: string }[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  let closes = 0;
  socket.on('close', () => closes++);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify(hello('held')));
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
    gateway.close();
    http.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
