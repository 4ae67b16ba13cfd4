import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QueryClient } from '@tanstack/query-core';
import type { NodeView, ServiceView, SkiffEvent } from '../api/types.ts';
import { applyBatch, streamedQueryDefaults } from './apply-batch.ts';
import type { ChangesMessage, SnapshotMessage, StatsSample } from './messages.ts';
import { keys } from './query-keys.ts';
import type { Series } from './stats-series.ts';
import { StatsSeries } from './stats-series.ts';

function service(name: string, running = 1): ServiceView {
  return {
    name,
    image: 'skiff-demo:v1',
    replicas: 1,
    revision: 1,
    status: 'running',
    running,
    healthy: running,
    message: null,
    created_at: '2026-12-01T00:00:00.000Z',
    updated_at: '2026-12-01T00:00:00.000Z',
    rollout: null,
    containers: [
      {
        id: 'abc',
        name: `${name}-0`,
        status: running ? 'running' : 'starting',
        health: 'none',
        node_id: 'n1',
        task_id: `${name}-t0`,
        slot: 0,
        revision: 1,
        restart_count: 0,
        exit_code: null,
        message: null,
        retry_at: null,
        ports: [],
      },
    ],
  } as unknown as ServiceView;
}

const node = { id: 'n1', name: 'n1', status: 'ready' } as unknown as NodeView;
const event = (id: number): SkiffEvent => ({
  id,
  timestamp: '2026-12-01T00:00:00.000Z',
  type: 'service',
  service: 'a',
  container: null,
  node: null,
  message: `event ${id}`,
});

function snapshot(services: ServiceView[], seq = 0, stats: StatsSample[] = []): SnapshotMessage {
  return {
    type: 'snapshot',
    protocol: 1,
    epoch: 'e',
    seq,
    at: '',
    principal: { name: 'admin', role: 'admin' },
    services,
    tasks: [],
    nodes: [node],
    events: [event(1)],
    stats,
  };
}

function changes(from: number, patch: Partial<ChangesMessage>): ChangesMessage {
  return { type: 'changes', epoch: 'e', from, seq: from + 1, at: '', ...patch };
}

test('a change replaces only its row: every other row keeps its identity, so memoised rows skip', () => {
  const client = new QueryClient();
  const stats = new StatsSeries();
  applyBatch([snapshot([service('b'), service('a'), service('c')])], client, stats, 0);
  const before = client.getQueryData<readonly ServiceView[]>(keys.services) ?? [];
  assert.deepEqual(
    before.map((s) => s.name),
    ['a', 'b', 'c'],
  );
  applyBatch([changes(0, { services: { upsert: [service('b', 0)], remove: [] } })], client, stats, 0);
  const after = client.getQueryData<readonly ServiceView[]>(keys.services) ?? [];
  assert.equal(after[0], before[0]);
  assert.equal(after[2], before[2]);
  assert.notEqual(after[1], before[1]);
  assert.equal(after[1]?.running, 0);
});

test('a resync snapshot equal to what is cached keeps every row (structural sharing)', () => {
  const client = new QueryClient();
  const stats = new StatsSeries();
  applyBatch([snapshot([service('a'), service('b')])], client, stats, 0);
  const before = client.getQueryData<readonly ServiceView[]>(keys.services);
  applyBatch([snapshot([service('a'), service('b')], 7)], client, stats, 0);
  const after = client.getQueryData<readonly ServiceView[]>(keys.services);
  assert.equal(after, before);
});

test('with the streamed defaults the cache deep-compares nothing; the batch shares snapshot rows itself', () => {
  const client = new QueryClient();
  streamedQueryDefaults(client);
  const stats = new StatsSeries();
  applyBatch([snapshot([service('a'), service('b')])], client, stats, 0);
  const before = client.getQueryData<readonly ServiceView[]>(keys.services) ?? [];
  // An upsert is taken as new (the server sends rows whose JSON changed): no deep compare.
  applyBatch([changes(0, { services: { upsert: [service('b')], remove: [] } })], client, stats, 0);
  const changed = client.getQueryData<readonly ServiceView[]>(keys.services) ?? [];
  assert.equal(changed[0], before[0]);
  assert.notEqual(changed[1], before[1]);
  // A resync's equal rows keep their identities, and so does the list.
  applyBatch([snapshot([service('b'), service('a')], 9)], client, stats, 0);
  assert.equal(client.getQueryData<readonly ServiceView[]>(keys.services), changed);
  // A snapshot row that changed is replaced; the others stay.
  applyBatch([snapshot([service('a', 0), service('b')], 10)], client, stats, 0);
  const resynced = client.getQueryData<readonly ServiceView[]>(keys.services) ?? [];
  assert.notEqual(resynced[0], changed[0]);
  assert.equal(resynced[0]?.running, 0);
  assert.equal(resynced[1], changed[1]);
});

test('a burst is one write per list, and the last change of a row wins', () => {
  const client = new QueryClient();
  const stats = new StatsSeries();
  applyBatch([snapshot([service('a')])], client, stats, 0);
  let writes = 0;
  const unsubscribe = client.getQueryCache().subscribe((e) => {
    if (e.type === 'updated' && e.query.queryKey[0] === 'services') writes++;
  });
  applyBatch(
    [
      changes(0, { services: { upsert: [service('a', 0)], remove: [] } }),
      changes(1, { services: { upsert: [service('a', 1), service('d')], remove: [] } }),
      changes(2, { services: { upsert: [], remove: ['d'] }, events: [event(2), event(3)] }),
    ],
    client,
    stats,
    0,
  );
  unsubscribe();
  assert.equal(writes, 1);
  const list = client.getQueryData<readonly ServiceView[]>(keys.services) ?? [];
  assert.deepEqual(
    list.map((s) => [s.name, s.running]),
    [['a', 1]],
  );
  assert.deepEqual(
    client.getQueryData<readonly SkiffEvent[]>(keys.events)?.map((e) => e.id),
    [1, 2, 3],
  );
});

test('messages before the last snapshot in a batch are superseded by it', () => {
  const client = new QueryClient();
  const stats = new StatsSeries();
  applyBatch(
    [
      snapshot([service('a')]),
      changes(0, { services: { upsert: [service('x')], remove: [] } }),
      snapshot([service('b')], 5),
    ],
    client,
    stats,
    0,
  );
  assert.deepEqual(
    client.getQueryData<readonly ServiceView[]>(keys.services)?.map((s) => s.name),
    ['b'],
  );
});

test('a task row alone is folded into its service; with its service row, the service row wins', () => {
  const client = new QueryClient();
  const stats = new StatsSeries();
  applyBatch([snapshot([service('a'), service('b')])], client, stats, 0);
  const task = { ...service('a').containers[0], restart_count: 4, service: 'a' } as never;
  const taskOfB = { ...service('b').containers[0], restart_count: 9, service: 'b' } as never;
  applyBatch(
    [
      changes(0, {
        tasks: { upsert: [task, taskOfB], remove: [] },
        services: { upsert: [service('b')], remove: [] },
      }),
    ],
    client,
    stats,
    0,
  );
  const list = client.getQueryData<readonly ServiceView[]>(keys.services) ?? [];
  assert.equal(list[0]?.containers[0]?.restart_count, 4);
  assert.equal(list[1]?.containers[0]?.restart_count, 0);
});

test('stats become one point per series per second, the sums of each replica’s latest sample', () => {
  const client = new QueryClient();
  const stats = new StatsSeries();
  const sample = (task: string, at: string, cpu: number): StatsSample => ({
    task_id: task,
    service: 'a',
    container: 'a-0',
    node_id: 'n1',
    at,
    cpu_percent: cpu,
    memory_bytes: 1000,
    memory_limit_bytes: null,
    net_rx_bytes: null,
    net_tx_bytes: null,
  });
  const t0 = Date.parse('2026-12-01T00:00:00.000Z');
  applyBatch(
    [snapshot([service('a')], 0, [sample('t1', '2026-12-01T00:00:00.000Z', 10)])],
    client,
    stats,
    t0,
  );
  applyBatch(
    [
      changes(0, {
        stats: [sample('t1', '2026-12-01T00:00:00.100Z', 20), sample('t2', '2026-12-01T00:00:00.100Z', 5)],
      }),
    ],
    client,
    stats,
    t0 + 100,
  );
  const first = client.getQueryData<Series>(keys.serviceStats('a'));
  assert.ok(first, 'a first point');
  // Within the same second of this series no new point; a second later one, with the sums.
  applyBatch(
    [changes(1, { stats: [sample('t1', '2026-12-01T00:00:00.200Z', 30)] })],
    client,
    stats,
    t0 + 200,
  );
  applyBatch(
    [changes(2, { stats: [sample('t1', '2026-12-01T00:00:01.900Z', 40)] })],
    client,
    stats,
    t0 + 2000,
  );
  const series = client.getQueryData<Series>(keys.serviceStats('a'));
  assert.ok(series && series.t.length >= 2 && series.t.length <= 3, `points: ${JSON.stringify(series)}`);
  // 40% + 5% of a core = 450 millicores; two replicas' memory.
  assert.equal(series.cpu.at(-1), 450);
  assert.equal(series.memory.at(-1), 2000);
  assert.equal(client.getQueryData<Series>(keys.nodeStats('n1'))?.cpu.at(-1), 450);
  // A sample older than the replica's latest (out of order) does not replace it.
  applyBatch(
    [changes(3, { stats: [sample('t1', '2026-12-01T00:00:01.000Z', 99)] })],
    client,
    stats,
    t0 + 4000,
  );
  assert.equal(client.getQueryData<Series>(keys.serviceStats('a'))?.cpu.at(-1), 450);
});

test('a node’s host usage becomes its own series (millicores of the whole host, bytes used), apart from its replicas’ sum', () => {
  const client = new QueryClient();
  const stats = new StatsSeries();
  const usage = (cpuPercent: number) => ({
    node_id: 'n1',
    at: '2026-12-01T00:00:00.000Z',
    cpu_percent: cpuPercent,
    cpu_count: 4,
    memory_used_bytes: 3000,
    memory_total_bytes: 8000,
  });
  const t0 = Date.parse('2026-12-01T00:00:00.000Z');
  applyBatch([{ ...snapshot([service('a')]), node_usage: [usage(25)] }], client, stats, t0);
  applyBatch([changes(0, { node_usage: [usage(50)] })], client, stats, t0 + 2000);
  const host = client.getQueryData<Series>(keys.hostUsage('n1'));
  // Half of 4 cores.
  assert.equal(host?.cpu.at(-1), 2000);
  assert.equal(host?.memory.at(-1), 3000);
  assert.equal(client.getQueryData<Series>(keys.nodeStats('n1')), undefined, 'no replica samples: no sum');
});
