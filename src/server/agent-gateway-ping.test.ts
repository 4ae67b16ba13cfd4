/**
 * Pings are heartbeats (a bare gateway on loopback, a raw WebSocket for the agent): the welcome
 * lists `ping-heartbeat`, and an agent that only pings is heard (its node's last beat moves, it
 * stays ready past its heartbeat timeout) and answered with a pong, without a `heartbeat` message.
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
import { FEATURES, PROTOCOL_VERSION } from '../protocol/features.ts';
import { AGENT_PATH } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { attachAgentGateway } from './agent-gateway.ts';
import { Cluster } from './cluster.ts';
import type { Controller } from './controller.ts';
import { EventLog } from './event-log.ts';
import { ExecBroker } from './exec-broker.ts';
import { LogBroker } from './log-broker.ts';
import { DEFAULT_LIVENESS, livenessStatus } from './node-liveness.ts';

test('an agent that only pings is heard, and each ping answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-gateway-ping-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  let nowMs = 1_000_000;
  const cluster = new Cluster(store, nowMs);
  const controller = { trigger() {}, applyReport() {}, paused: false } as unknown as Controller;
  const http = createServer((_, response) => response.end());
  const gateway = attachAgentGateway(http, {
    authenticate: () => ({ nodeName: 'pinger' }),
    clusterId: 'cluster-1',
    addressPool: DEFAULT_POOL,
    heartbeatIntervalMs: 500,
    cluster,
    controller,
    events: new EventLog(store),
    logs: new LogBroker(cluster),
    execs: new ExecBroker(cluster),
    now: () => nowMs,
    log: () => {},
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const socket = new WebSocket(new URL(AGENT_PATH, `ws://127.0.0.1:${port}`));
  const received: { type?: string; features?: string[] }[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data))));
  let pongs = 0;
  socket.on('pong', () => pongs++);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        agent_version: '0.1.0',
        node: {
          name: 'pinger',
          engine_id: 'engine-pinger',
          address: '127.0.0.1',
          labels: {},
          cpu_millicores: 2000,
          memory_bytes: 2 ** 31,
          engine_version: '20.10.0',
        },
        cluster_id: null,
        protocol_version: PROTOCOL_VERSION,
        features: [FEATURES.heartbeatInterval, FEATURES.pingHeartbeat],
      }),
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
    gateway.close();
    http.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
