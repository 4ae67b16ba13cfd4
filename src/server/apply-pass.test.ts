/**
 * The applier: a plan's writes land in the store in one transaction, each node gets what the plan
 * sends it and its session remembers it, and the endpoints set is serialised once for all.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ServerMessage } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { applyPass } from './apply-pass.ts';
import { Cluster } from './cluster.ts';
import { EventLog } from './event-log.ts';
import { registration } from './pass-fixture.ts';
import type { PassPlan } from './plan-pass.ts';

const empty: PassPlan = {
  statusChanges: [],
  insert: [],
  update: [],
  forget: [],
  rollouts: [],
  events: [],
  allocate: [],
  release: [],
  assignments: [],
  prepares: [],
  pulls: [],
  endpoints: undefined,
  memory: {
    failures: new Map(),
    releases: new Map(),
    assignGeneration: 0,
    endpointsGeneration: 0,
    endpoints: undefined,
    endpointsPublishedAt: 0,
  },
  again: false,
  quietUntil: 0,
};

test('writes land, sends go to the named nodes, and the endpoints text is made once', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-apply-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cluster = new Cluster(store, 0);
  const texts: string[] = [];
  const sendSerialised = (bytes: Buffer) => texts.push(bytes.toString('utf8'));
  const sent: ServerMessage[] = [];
  cluster.connect(registration('a'), { send: (m) => sent.push(m), sendSerialised, close() {} }, 0);
  cluster.connect(registration('b'), { send: (m) => sent.push(m), sendSerialised, close() {} }, 0);
  cluster.connect(registration('c'), { send: (m) => sent.push(m), close() {} }, 0);
  const plan: PassPlan = {
    ...empty,
    insert: [
      {
        id: 't1',
        service: 'web',
        slot: 0,
        revision: 1,
        nodeId: 'a',
        desiredState: 'running',
        pendingReason: null,
        createdAt: 5,
      },
    ],
    events: [
      { type: 'schedule', service: 'web', container: 'web-0', node: 'a', message: 'Scheduled web-0 on a' },
    ],
    assignments: [{ nodeId: 'a', generation: 7, key: 't1@', tasks: [] }],
    endpoints: {
      generation: 9,
      services: [],
      peers: ['10.0.0.1'],
      nodeIds: ['a', 'c'],
      deltas: [{ base: 8, services: [], removed: ['old'], peers: undefined, nodeIds: ['b'] }],
    },
  };
  applyPass(plan, { store, cluster, events: new EventLog(store), networkCount: 256 }, 1000);
  assert.deepEqual(
    store.listTasks().map((task) => [task.id, task.nodeId]),
    [['t1', 'a']],
  );
  assert.deepEqual(
    store.listEvents({ limit: 10 }).map((e) => e.message),
    ['Scheduled web-0 on a'],
  );
  assert.deepEqual(
    sent.map((m) => m.type),
    ['assign', 'endpoints'],
    'the assignment, and endpoints to the link that cannot take text',
  );
  assert.equal(texts.length, 2);
  assert.deepEqual(JSON.parse(texts[0] ?? ''), {
    type: 'endpoints',
    generation: 9,
    services: [],
    node_addresses: ['10.0.0.1'],
  });
  assert.deepEqual(
    JSON.parse(texts[1] ?? ''),
    { type: 'endpoints.delta', generation: 9, base_generation: 8, services: [], removed: ['old'] },
    'b takes deltas: only what changed since 8, and no addresses (unchanged)',
  );
  assert.equal(cluster.get('a')?.lastAssignment, 't1@');
  assert.deepEqual(
    ['a', 'b', 'c'].map((id) => cluster.get(id)?.lastEndpoints),
    [9, 9, 9],
  );
});

test('endpoints share one buffer, and a node whose socket holds unsent bytes is skipped, keeping its generation', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-apply-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cluster = new Cluster(store, 0);
  const received = new Map<string, Buffer[]>();
  const link = (name: string, unsent: number) => ({
    send() {
      assert.fail('serialised links are sent bytes');
    },
    sendSerialised: (bytes: Buffer) => received.set(name, [...(received.get(name) ?? []), bytes]),
    bufferedBytes: () => unsent,
    close() {},
  });
  for (const [name, unsent] of [
    ['a', 0],
    ['b', 0],
    ['slow', 1],
  ] as const)
    cluster.connect(registration(name), link(name, unsent), 0);
  for (const id of ['a', 'b', 'slow']) {
    const session = cluster.get(id);
    if (session) session.lastEndpoints = 4;
  }
  const plan: PassPlan = {
    ...empty,
    endpoints: {
      generation: 5,
      services: [],
      peers: ['10.0.0.1'],
      nodeIds: [],
      deltas: [{ base: 4, services: [], removed: ['gone'], peers: undefined, nodeIds: ['a', 'b', 'slow'] }],
    },
  };
  applyPass(plan, { store, cluster, events: new EventLog(store), networkCount: 256 }, 1000);
  const [toA] = received.get('a') ?? [];
  const [toB] = received.get('b') ?? [];
  assert.ok(toA);
  assert.equal(toA, toB, 'one buffer for every node of the delta');
  assert.equal(received.get('slow'), undefined, 'the node with unsent bytes is sent nothing');
  assert.deepEqual(
    ['a', 'b', 'slow'].map((id) => cluster.get(id)?.lastEndpoints),
    [5, 5, 4],
    'the skipped node keeps the generation it holds, so its next delta starts there',
  );
});

test("a node's own assignment in this pass (unsent until the loop turns, over TLS) does not hold back its endpoints", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-apply-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cluster = new Cluster(store, 0);
  let unsent = 0;
  const types: string[] = [];
  cluster.connect(
    registration('a'),
    {
      send: (m) => {
        types.push(m.type);
        unsent += 100;
      },
      sendSerialised: (bytes) => {
        types.push(JSON.parse(bytes.toString('utf8')).type);
        unsent += bytes.length;
      },
      bufferedBytes: () => unsent,
      close() {},
    },
    0,
  );
  const plan: PassPlan = {
    ...empty,
    assignments: [{ nodeId: 'a', generation: 3, key: 'k', tasks: [] }],
    endpoints: { generation: 2, services: [], peers: [], nodeIds: ['a'], deltas: [] },
  };
  applyPass(plan, { store, cluster, events: new EventLog(store), networkCount: 256 }, 1000);
  assert.deepEqual(types, ['assign', 'endpoints']);
  assert.equal(cluster.get('a')?.lastEndpoints, 2);
});
