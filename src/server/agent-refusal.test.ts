/**
 * An agent whose data dir belongs to another cluster, at the real gateway over a real WebSocket:
 * turned away at hello with a close code that tells it retrying cannot help, listed by
 * `GET /api/nodes` with the reason, recorded as one event however often it retries, and never
 * registered (so nothing is scheduled on it) until it comes back fresh.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, test } from 'node:test';
import WebSocket from 'ws';
import { createFixture, type Fixture, field } from '../api/test-fixture.ts';
import { parseAddressPool } from '../model/addressing.ts';
import type { NodeRegistration } from '../model/node.ts';
import { nodeViewSchema } from '../model/views.ts';
import { AGENT_PATH, CLOSE_CODES } from '../protocol/messages.ts';
import { attachAgentGateway } from './agent-gateway.ts';
import { ExecBroker } from './exec-broker.ts';

const JOIN_TOKEN = 'join-token-for-the-test';
const SERVER_CLUSTER = 'cluster-new';
const POOL = parseAddressPool('10.96.0.0/14');

let f: Fixture;
let server: Server;
let gateway: { close(): void };
let url: string;

beforeEach(async () => {
  f = createFixture();
  server = createServer();
  gateway = attachAgentGateway(server, {
    // Certificates are src/security's and test/tls.test.ts's concern: here every connection is h1's.
    authenticate: () => ({ nodeName: 'h1' }),
    clusterId: SERVER_CLUSTER,
    addressPool: POOL,
    heartbeatIntervalMs: 500,
    cluster: f.cluster,
    controller: f.controller,
    events: f.events,
    logs: f.logs,
    execs: new ExecBroker(f.cluster),
    now: () => f.clock,
    log: () => {},
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${AGENT_PATH}`;
});

afterEach(async () => {
  gateway.close();
  await new Promise((resolve) => server.close(resolve));
  f.close();
});

const registration: NodeRegistration = {
  name: 'h1',
  engine_id: 'engine-h1',
  address: '10.0.0.7',
  labels: {},
  cpu_millicores: 2000,
  memory_bytes: 2 * 1024 ** 3,
  engine_version: '20.10.24',
};

/** Says hello as an agent of `clusterId`; resolves with the first message or the close. */
function hello(
  clusterId: string | null,
): Promise<{ welcome: boolean; code?: number; reason?: string; socket: WebSocket }> {
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${JOIN_TOKEN}` } });
  return new Promise((resolve, reject) => {
    socket.on('open', () =>
      socket.send(
        JSON.stringify({ type: 'hello', node: registration, agent_version: 'test', cluster_id: clusterId }),
      ),
    );
    socket.on('message', (data) => {
      const message: unknown = JSON.parse(String(data));
      if (field(message, 'type') === 'welcome') resolve({ welcome: true, socket });
    });
    socket.on('close', (code, reason) => resolve({ welcome: false, code, reason: String(reason), socket }));
    socket.on('error', reject);
  });
}

async function nodes() {
  const response = await f.call('GET', '/api/nodes');
  return nodeViewSchema.array().parse(response.body);
}

test('an agent of another cluster is refused at hello, listed with the reason, and recorded once', async () => {
  for (let attempt = 0; attempt < 3; attempt++) {
    const outcome = await hello('cluster-old');
    assert.equal(outcome.welcome, false);
    assert.equal(outcome.code, CLOSE_CODES.clusterMismatch);
    assert.match(outcome.reason ?? '', /this server is cluster cluster-new/);
    f.clock += 1000;
  }
  assert.equal(f.cluster.get('h1'), undefined, 'never registered, so never scheduled on');
  const [node] = await nodes();
  assert.equal(node?.name, 'h1');
  assert.equal(node?.status, 'unreachable');
  assert.equal(node?.containers, 0);
  assert.match(node?.message ?? '', /^refused: its data dir belongs to cluster cluster-old/);
  assert.match(node?.message ?? '', /last tried 2025-06-01T12:00:02\.000Z/, 'the latest attempt');
  const refusals = f.store.listEvents({ limit: 100 }).filter((e) => /refused/.test(e.message));
  assert.equal(refusals.length, 1, 'one event, not one per retry');
  assert.match(refusals[0]?.message ?? '', /Node h1 refused: its data dir belongs to cluster cluster-old/);
});

test('once reset, the same agent joins and the refusal is gone', async () => {
  await hello('cluster-old');
  const fresh = await hello(null);
  assert.equal(fresh.welcome, true);
  const [node] = await nodes();
  assert.equal(node?.status, 'ready');
  assert.equal(node?.message, null);
  fresh.socket.close();
});

test('an agent of this cluster joins', async () => {
  const outcome = await hello(SERVER_CLUSTER);
  assert.equal(outcome.welcome, true);
  outcome.socket.close();
});

test('a refused agent that never joined can be forgotten', async () => {
  await hello('cluster-old');
  const removed = await f.call('DELETE', '/api/nodes/h1');
  assert.equal(removed.status, 200);
  assert.deepEqual(await nodes(), []);
});

test('a known node refused later keeps its row and says why', async () => {
  const first = await hello(null);
  assert.equal(first.welcome, true);
  first.socket.close();
  await new Promise((resolve) => first.socket.once('close', resolve));
  const refused = await hello('cluster-old');
  assert.equal(refused.code, CLOSE_CODES.clusterMismatch);
  const all = await nodes();
  assert.equal(all.length, 1, 'one row: the known node, not a second stranger');
  assert.match(all[0]?.message ?? '', /^refused: /);
});

test('an agent whose host overlaps the pool: the welcome names the pool, its event is kept, and nodes say why', async () => {
  const socket = new WebSocket(url, { headers: { authorization: `Bearer ${JOIN_TOKEN}` } });
  const welcome = await new Promise<unknown>((resolve, reject) => {
    socket.on('open', () =>
      socket.send(
        JSON.stringify({ type: 'hello', node: registration, agent_version: 'test', cluster_id: null }),
      ),
    );
    socket.once('message', (data) => resolve(JSON.parse(String(data))));
    socket.on('error', reject);
  });
  assert.equal(field(welcome, 'address_pool'), '10.96.0.0/14');
  // What a refusing agent does (agent.ts): one report with the event, then the close code.
  const problem = "this host's address 10.97.0.4/24 on eth0 overlaps the cluster's address pool 10.96.0.0/14";
  socket.send(
    JSON.stringify({
      type: 'report',
      generation: 0,
      full: false,
      tasks: [],
      removed: [],
      events: [
        {
          type: 'node',
          service: null,
          container: null,
          node: 'h1',
          message: `Node h1: ${problem}`,
          at: f.clock,
        },
      ],
    }),
  );
  socket.close(CLOSE_CODES.addressPoolOverlap, 'this host overlaps the address pool');
  await new Promise((resolve) => socket.once('close', resolve));
  const [node] = await nodes();
  assert.notEqual(node?.status, 'ready');
  assert.match(node?.message ?? '', /^refused: its host overlaps the address pool 10\.96\.0\.0\/14/);
  const events = f.store.listEvents({ limit: 100 }).map((e) => e.message);
  assert.ok(events.includes(`Node h1: ${problem}`), events.join('\n'));
});
