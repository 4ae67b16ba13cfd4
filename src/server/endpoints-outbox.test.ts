/**
 * The endpoints outbox: a slice of nodes a turn, a node's session told its generation only once
 * its message is written, one message at a time per node, a pass asked for once a queue that had
 * to wait is empty, one buffer per message, nothing for a node that reconnected meanwhile, and
 * no more written while the connections hold the bound of unsent bytes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ServerMessage } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { Cluster } from './cluster.ts';
import { EndpointsOutbox } from './endpoints-outbox.ts';
import { registration } from './pass-fixture.ts';

const turn = () => new Promise((resolve) => setImmediate(resolve));

function message(generation: number, base: number): ServerMessage {
  return { type: 'endpoints.delta', generation, base_generation: base, services: [], removed: [] };
}

/** Each node's unsent bytes, as its connection would report them (absent: it has no count). */
type Unsent = Map<string, number>;

function withCluster(
  fn: (cluster: Cluster, received: Map<string, Buffer[]>) => Promise<void>,
  unsent?: Unsent,
) {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-outbox-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  const cluster = new Cluster(store, 0);
  const received = new Map<string, Buffer[]>();
  for (const name of ['a', 'b', 'c']) {
    received.set(name, []);
    cluster.connect(
      registration(name),
      {
        send() {},
        sendSerialised: (bytes) => received.get(name)?.push(bytes),
        ...(unsent ? { bufferedBytes: () => unsent.get(name) ?? 0 } : {}),
        close() {},
      },
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
    const outbox = new EndpointsOutbox(cluster, () => {}, 1);
    outbox.add(7, [{ message: message(7, 6), nodeIds: ['a', 'b', 'c'] }]);
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

test('a node waits for one message at a time; a queue that had to wait asks for a pass once empty', () =>
  withCluster(async (cluster, received) => {
    let drained = 0;
    const outbox = new EndpointsOutbox(cluster, () => drained++, 1);
    outbox.add(7, [{ message: message(7, 6), nodeIds: ['a', 'b', 'c'] }]);
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => outbox.has(id)),
      [false, true, true],
    );
    // A pass meanwhile plans b and c nothing (they are `sending`); were it to, they keep their turn.
    outbox.add(8, [{ message: message(8, 7), nodeIds: ['a', 'b'] }]);
    await turn();
    await turn();
    await turn();
    const generations = (id: string) =>
      (received.get(id) ?? []).map((b) => (JSON.parse(b.toString()) as { generation: number }).generation);
    assert.deepEqual(generations('a'), [7, 8]);
    assert.deepEqual(generations('b'), [7]);
    assert.deepEqual(generations('c'), [7]);
    assert.equal(outbox.size, 0);
    assert.equal(drained, 1, 'one pass asked for, to plan b and c what they missed');
    // All of it written in the turn it was added: its pass knows, no other is asked for.
    new EndpointsOutbox(cluster, () => drained++).add(9, [{ message: message(9, 8), nodeIds: ['a', 'b'] }]);
    assert.equal(drained, 1);
  }));

test('a node that reconnected before its turn is not sent what was planned for its old link', () =>
  withCluster(async (cluster, received) => {
    const outbox = new EndpointsOutbox(cluster, () => {}, 1);
    outbox.add(7, [{ message: message(7, 6), nodeIds: ['a', 'b'] }]);
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
    const outbox = new EndpointsOutbox(cluster, () => {}, 1);
    outbox.add(7, [{ message: message(7, 6), nodeIds: ['a', 'b'] }]);
    outbox.clear();
    await turn();
    assert.equal(received.get('b')?.length, 0);
  }));

test('while the connections hold the bound of unsent bytes, nothing more is written', () => {
  const unsent: Unsent = new Map();
  return withCluster(async (cluster, received) => {
    const written = () => ['a', 'b', 'c'].map((id) => received.get(id)?.length ?? 0);
    const outbox = new EndpointsOutbox(cluster, () => {}, 1024 * 1024, 100);
    // a's write stays with its socket: 500 bytes unsent, over the bound of 100.
    unsent.set('a', 500);
    outbox.add(7, [{ message: message(7, 6), nodeIds: ['a', 'b', 'c'] }]);
    assert.deepEqual(written(), [1, 0, 0]);
    await turn();
    await turn();
    assert.deepEqual(written(), [1, 0, 0], 'held while a has not sent');
    unsent.set('a', 0);
    const deadline = Date.now() + 2000;
    while (outbox.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(written(), [1, 1, 1]);
  }, unsent);
});
