/**
 * Shared fixture for the gateway tests: a bare agent gateway (no TLS: every connection is node
 * `nodeName`'s) on loopback over the real SQLite store, cluster, event log and brokers, with a
 * stand-in controller. Certificates are tested in test/tls.test.ts; a whole server in
 * hostile-agent.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { AGENT_PATH } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { AgentGateway, GatewayOptions } from './agent-gateway.ts';
import { attachAgentGateway } from './agent-gateway.ts';
import { Cluster } from './cluster.ts';
import type { Controller } from './controller.ts';
import { EventLog } from './event-log.ts';
import { ExecBroker } from './exec-broker.ts';
import { LogBroker } from './log-broker.ts';

export interface GatewayFixture {
  readonly store: SqliteStore;
  readonly cluster: Cluster;
  readonly gateway: AgentGateway;
  /** The agents' WebSocket URL (`ws://127.0.0.1:PORT/agent/v1`). */
  readonly agentUrl: URL;
  /** What the gateway logged. */
  readonly logged: string[];
  /** Closes the gateway and its HTTP server, the store, and removes the data dir. */
  close(): Promise<void>;
}

export interface GatewayFixtureOptions {
  /** The node every connection is authenticated as. */
  readonly nodeName: string;
  /** What the gateway asks of the controller (default: a trigger and applyReport that do nothing). */
  readonly controller?: Partial<Pick<Controller, 'trigger' | 'applyReport'>>;
  /** Default Date.now. */
  readonly now?: () => number;
  readonly admit?: GatewayOptions['admit'];
  readonly onHold?: GatewayOptions['onHold'];
}

export async function startGateway(options: GatewayFixtureOptions): Promise<GatewayFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-gateway-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  const now = options.now ?? Date.now;
  const cluster = new Cluster(store, now());
  const controller = {
    trigger() {},
    applyReport() {},
    ...options.controller,
    paused: false,
  } as unknown as Controller;
  const logged: string[] = [];
  const http = createServer((_, response) => response.end());
  const gateway = attachAgentGateway(http, {
    authenticate: () => ({ nodeName: options.nodeName }),
    ...(options.admit ? { admit: options.admit } : {}),
    ...(options.onHold ? { onHold: options.onHold } : {}),
    clusterId: 'cluster-1',
    addressPool: DEFAULT_POOL,
    heartbeatIntervalMs: 500,
    cluster,
    controller,
    events: new EventLog(store),
    logs: new LogBroker(cluster),
    execs: new ExecBroker(cluster),
    now,
    log: (line) => logged.push(line),
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    store,
    cluster,
    gateway,
    agentUrl: new URL(AGENT_PATH, `ws://127.0.0.1:${port}`),
    logged,
    close: async () => {
      gateway.close();
      // An agent's socket may still be closing: the test is over, so is its connection.
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An agent's hello for node `name` (no cluster yet, no protocol version unless `extra` says). */
export function hello(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
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
    ...extra,
  };
}

/** A raw agent connection to `url`, open, every message it receives parsed into `received`. */
export async function openAgent<Message = Record<string, unknown>>(
  url: URL,
): Promise<{ readonly socket: WebSocket; readonly received: Message[] }> {
  const socket = new WebSocket(url);
  const received: Message[] = [];
  socket.on('message', (data) => received.push(JSON.parse(String(data)) as Message));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received };
}
