/**
 * The endpoints outbox: a slice of nodes a turn, a node's session told its generation only once
 * its message is written, a later pass's deliveries in place of what still waits, one buffer per
 * kind of message, and nothing for a node that reconnected meanwhile.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { NodeRegistration } from '../model/node.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { Cluster } from './cluster.ts';
import { EndpointsOutbox } from './endpoints-outbox.ts';

const registration = (name: string): NodeRegistration => ({
  name,
  engine_id: `e-${name}`,
  address: '10.0.0.1',
  labels: {},
  cpu_millicores: 1000,
  memory_bytes: 2 ** 30,
  engine_version: '27',
});

const turn = () => new Promise((resolve) => setImmediate(resolve));

function message(generation: number, base: number): ServerMessage {
  return { type: 'endpoints.delta', generation, base_generation: base, services: [], removed: [] };
}

function withCluster(fn: (cluster: Cluster, received: Map<string, Buffer[]>) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-outbox-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  const cluster = new Cluster(store, 0);
  const received = new Map<string, Buffer[]>();
  for (const name of ['a', 'b', 'c']) {
    received.set(name, []);
    cluster.connect(
      registration(name),
      { send() {}, sendSerialised: (bytes) => received.get(name)?.push(bytes), close() {} },
      0,
    );
  }
  return fn(cluster, received).finally(() => {
    void store.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

test('one slice a turn; a session is told its generation once its message is written', () =>
  withCluster(async (cluster, received) => {
    // Each message is about 80 bytes: a budget of 1 byte writes one node a turn.
    const outbox = new EndpointsOutbox(cluster, 1);
    outbox.replace(7, [{ key: '6:whole', message: message(7, 6), nodeIds: ['a', 'b', 'c'] }]);
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => cluster.get(id)?.lastEndpoints),
      [7, undefined, undefined],
    );
    assert.equal(outbox.size, 2);
    await turn();
    await turn();
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => cluster.get(id)?.lastEndpoints),
      [7, 7, 7],
    );
    const [first] = received.get('a') ?? [];
    assert.ok(first && received.get('c')?.[0] === first, 'one buffer for every node');
    assert.equal(outbox.size, 0);
  }));

test("a later pass's deliveries replace what still waits", () =>
  withCluster(async (cluster, received) => {
    const outbox = new EndpointsOutbox(cluster, 1);
    outbox.replace(7, [{ key: '6:whole', message: message(7, 6), nodeIds: ['a', 'b', 'c'] }]);
    // b and c still hold 6: the next pass plans them a delta from 6 to 8, which covers 7.
    outbox.replace(8, [{ key: '6:whole', message: message(8, 6), nodeIds: ['b', 'c'] }]);
    await turn();
    await turn();
    const generations = (id: string) =>
      (received.get(id) ?? []).map((b) => (JSON.parse(b.toString()) as { generation: number }).generation);
    assert.deepEqual(generations('a'), [7]);
    assert.deepEqual(generations('b'), [8]);
    assert.deepEqual(generations('c'), [8]);
  }));

test('a node that reconnected before its turn is not sent what was planned for its old link', () =>
  withCluster(async (cluster, received) => {
    const outbox = new EndpointsOutbox(cluster, 1);
    outbox.replace(7, [{ key: 'whole', message: message(7, 6), nodeIds: ['a', 'b'] }]);
    const fresh: Buffer[] = [];
    cluster.connect(
      registration('b'),
      { send() {}, sendSerialised: (bytes) => fresh.push(bytes), close() {} },
      1,
    );
    await turn();
    assert.equal(received.get('b')?.length, 0);
    assert.equal(fresh.length, 0);
    assert.equal(cluster.get('b')?.lastEndpoints, undefined, 'its next pass sends it the whole set');
  }));

test('cleared: nothing more is sent', () =>
  withCluster(async (cluster, received) => {
    const outbox = new EndpointsOutbox(cluster, 1);
    outbox.replace(7, [{ key: 'whole', message: message(7, 6), nodeIds: ['a', 'b'] }]);
    outbox.clear();
    await turn();
    assert.equal(received.get('b')?.length, 0);
  }));
