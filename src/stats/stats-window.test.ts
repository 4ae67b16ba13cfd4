import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeSampleWire, ReplicaSampleWire } from '../protocol/stats-message.ts';
import { readStatsSamples } from '../protocol/stats-message.ts';
import {
  latestNodeStats,
  latestReplicaStats,
  latestReplicaStatsOfNode,
  replicaWindow,
} from './stats-view.ts';
import { LATEST_SAMPLES, StatsWindow } from './stats-window.ts';

const GiB = 1024 ** 3;

function replica(
  taskId: string,
  atMs: number,
  cpuSeconds: number,
  extra: Partial<ReplicaSampleWire> = {},
): ReplicaSampleWire {
  return {
    task_id: taskId,
    service: taskId.split('-')[0] ?? taskId,
    slot: Number(taskId.split('-')[1] ?? 0),
    container_id: `c-${taskId}`,
    at: atMs,
    cpu_seconds: cpuSeconds,
    memory_working_set_bytes: 64 * 1024 * 1024,
    memory_limit_bytes: 128 * 1024 * 1024,
    network_rx_bytes: atMs,
    network_tx_bytes: 0,
    block_read_bytes: 0,
    block_write_bytes: 0,
    ...extra,
  };
}

function node(atMs: number, cpuSeconds: number): NodeSampleWire {
  return {
    at: atMs,
    cpu_seconds: cpuSeconds,
    cpu_count: 2,
    memory_used_bytes: GiB,
    memory_total_bytes: 4 * GiB,
    disk_path: '/var/lib/docker',
    disk_used_bytes: 10 * GiB,
    disk_total_bytes: 40 * GiB,
  };
}

const batch = (nodeSample: NodeSampleWire | undefined, replicas: ReplicaSampleWire[]) => ({
  node: nodeSample,
  replicas,
  dropped: 0,
});

test('the latest figures come from the last two samples of each replica and node', () => {
  const window = new StatsWindow();
  window.record('n1', 5000, batch(node(0, 100), [replica('web-0', 0, 10)]), 0);
  let [web] = latestReplicaStats(window, 0);
  assert.equal(web?.cpu_percent, null, 'one sample says nothing about a rate');
  window.record('n1', 5000, batch(node(5000, 105), [replica('web-0', 5000, 12.5)]), 5000);
  [web] = latestReplicaStats(window, 5000);
  assert.equal(web?.replica, 'web-0');
  assert.equal(web?.node, 'n1');
  assert.equal(web?.cpu_percent, 50);
  assert.equal(web?.cpu_seconds, 12.5);
  assert.equal(web?.memory_percent, 50);
  assert.equal(web?.network_rx_bytes_per_second, 1000);
  const [n1] = latestNodeStats(window, 5000);
  assert.equal(n1?.cpu_percent, 50, '5 CPU seconds in 5 s on 2 cores');
  assert.equal(n1?.memory_percent, 25);
  assert.equal(n1?.disk_percent, 25);
});

test('a window holds at most `capacity` samples per series', () => {
  const window = new StatsWindow({ capacity: 4 });
  for (let i = 0; i < 50; i++)
    window.record('n1', 5000, batch(node(i * 5000, i), [replica('web-0', i * 5000, i)]), i * 5000);
  const samples = replicaWindow(window, 'web-0');
  assert.deepEqual(
    samples.map((s) => s.cpu_seconds),
    [46, 47, 48, 49],
  );
  assert.equal(window.node('n1')?.samples.length, 4);
});

test("a replica missing from its node's message is gone; other nodes' replicas stay", () => {
  const window = new StatsWindow();
  window.record('n1', 5000, batch(undefined, [replica('web-0', 0, 1), replica('web-1', 0, 1)]), 0);
  window.record('n2', 5000, batch(undefined, [replica('api-0', 0, 1)]), 0);
  window.record('n1', 5000, batch(undefined, [replica('web-1', 5000, 2)]), 5000);
  assert.deepEqual(
    latestReplicaStats(window, 5000).map((r) => r.replica),
    ['api-0', 'web-1'],
  );
  assert.equal(window.size.replicas, 2);
});

test('a replaced container starts a fresh series: no CPU % across the restart', () => {
  const window = new StatsWindow();
  window.record('n1', 5000, batch(undefined, [replica('web-0', 0, 100)]), 0);
  window.record('n1', 5000, batch(undefined, [replica('web-0', 5000, 105)]), 5000);
  window.record(
    'n1',
    5000,
    batch(undefined, [replica('web-0', 10_000, 0.5, { container_id: 'new' })]),
    10_000,
  );
  const [web] = latestReplicaStats(window, 10_000);
  assert.equal(web?.container_id, 'new');
  assert.equal(web?.cpu_percent, null);
  assert.equal(replicaWindow(window, 'web-0').length, 1);
});

test('a replica reported by another node moves there, and the old node no longer drops it', () => {
  const window = new StatsWindow();
  window.record('n1', 5000, batch(undefined, [replica('web-0', 0, 1)]), 0);
  window.record('n2', 5000, batch(undefined, [replica('web-0', 1000, 1)]), 1000);
  window.record('n1', 5000, batch(undefined, []), 5000);
  assert.deepEqual(
    latestReplicaStats(window, 5000).map((r) => r.node),
    ['n2'],
  );
});

test('a silent node goes stale after three intervals, then is forgotten; forgetNode drops one at once', () => {
  const window = new StatsWindow();
  window.record('n1', 5000, batch(node(0, 1), [replica('web-0', 0, 1)]), 0);
  window.record('n2', 1000, batch(node(0, 1), [replica('api-0', 0, 1)]), 0);
  assert.equal(latestReplicaStats(window, 3000).length, 2);
  assert.deepEqual(
    latestReplicaStats(window, 3001).map((r) => r.replica),
    ['web-0'],
    'n2 said it samples every second',
  );
  assert.deepEqual(
    latestNodeStats(window, 3001).map((n) => n.node),
    ['n1'],
  );
  window.record('n1', 5000, batch(node(5000, 2), [replica('web-0', 5000, 1)]), 5000);
  assert.equal(window.size.nodes, 1, 'the stale node was forgotten');
  assert.equal(window.size.replicas, 1);
  window.forgetNode('n1');
  assert.deepEqual(window.size, { replicas: 0, nodes: 0 });
});

test('a repeated sample is not a zero-length interval', () => {
  const window = new StatsWindow();
  window.record('n1', 5000, batch(undefined, [replica('web-0', 0, 1)]), 0);
  window.record('n1', 5000, batch(undefined, [replica('web-0', 5000, 6)]), 5000);
  window.record('n1', 5000, batch(undefined, [replica('web-0', 5000, 6)]), 5001);
  assert.equal(latestReplicaStats(window, 5001)[0]?.cpu_percent, 100);
});

test('listeners hear of every recorded message, until they unsubscribe', () => {
  const window = new StatsWindow();
  const heard: string[] = [];
  const unsubscribe = window.subscribe((nodeId) => heard.push(nodeId));
  window.record('n1', 5000, batch(undefined, []), 0);
  unsubscribe();
  window.record('n2', 5000, batch(undefined, []), 0);
  assert.deepEqual(heard, ['n1']);
});

test('one service, sorted by slot; without a limit, memory % is of the node', () => {
  const window = new StatsWindow();
  window.record(
    'n1',
    5000,
    batch(node(0, 1), [
      replica('web-1', 0, 1, { memory_limit_bytes: null, memory_working_set_bytes: GiB }),
      replica('web-0', 0, 1),
      replica('api-0', 0, 1),
    ]),
    0,
  );
  const rows = latestReplicaStats(window, 0, 'web');
  assert.deepEqual(
    rows.map((r) => r.replica),
    ['web-0', 'web-1'],
  );
  assert.equal(rows[1]?.memory_percent, 25);
});

test('a malformed sample is dropped and counted, the rest of the message is kept', () => {
  const samples = readStatsSamples({
    type: 'stats',
    interval_ms: 5000,
    node: { at: 0 },
    replicas: [replica('web-0', 0, 1), { task_id: 'web-1', cpu_seconds: -1 }, 'nonsense'],
  });
  assert.equal(samples.replicas.length, 1);
  assert.equal(samples.node, undefined);
  assert.equal(samples.dropped, 3);
});

test('a replica keeps what its service needs: the whole window when autoscaled, else the latest two', () => {
  let autoscaled = false;
  const window = new StatsWindow({
    capacity: 6,
    replicaCapacity: (service) => (service === 'web' && autoscaled ? 6 : LATEST_SAMPLES),
  });
  const at = (i: number) => batch(undefined, [replica('web-0', i * 5000, i)]);
  for (let i = 0; i < 5; i++) window.record('n1', 5000, at(i), i * 5000);
  assert.deepEqual(
    replicaWindow(window, 'web-0').map((s) => s.cpu_seconds),
    [3, 4],
  );
  assert.equal(latestReplicaStats(window, 20_000)[0]?.cpu_percent, 20, 'rates still have their two samples');
  autoscaled = true;
  for (let i = 5; i < 12; i++) window.record('n1', 5000, at(i), i * 5000);
  assert.deepEqual(
    replicaWindow(window, 'web-0').map((s) => s.cpu_seconds),
    [6, 7, 8, 9, 10, 11],
    'autoscaling turned on: the window grows from the next sample',
  );
  autoscaled = false;
  window.record('n1', 5000, at(12), 60_000);
  assert.deepEqual(
    replicaWindow(window, 'web-0').map((s) => s.cpu_seconds),
    [11, 12],
  );
});

test("one node's latest figures are the cluster's, filtered to that node", () => {
  const window = new StatsWindow();
  for (const [i, at] of [0, 5000].entries()) {
    window.record('n1', 5000, batch(undefined, [replica('web-1', at, i), replica('web-0', at, i)]), at);
    window.record('n2', 5000, batch(undefined, [replica('api-0', at, i)]), at);
  }
  for (const nodeId of ['n1', 'n2', 'n3'])
    assert.deepEqual(
      latestReplicaStatsOfNode(window, nodeId, 5000),
      latestReplicaStats(window, 5000).filter((r) => r.node === nodeId),
      nodeId,
    );
  assert.equal(latestReplicaStatsOfNode(window, 'n1', 5000).length, 2);
  assert.deepEqual(latestReplicaStatsOfNode(window, 'n1', 60_000), [], 'stale: nothing');
});
