/**
 * The stats topic from the real stats window: a replica's samples reach the stream from its
 * second on (CPU % takes two), as the latest per replica, in a `changes` message and in the next
 * snapshot; samples of replicas the state does not hold are not sent. Nothing follows the window
 * while no client is connected, and a first client's snapshot has the latest samples all the same.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replica, serviceView } from '../../cli/service-view-fixture.ts';
import type { SkiffEvent } from '../../model/event.ts';
import type { NodeView, ServiceView } from '../../model/views.ts';
import type { ReplicaSampleWire } from '../../protocol/stats-message.ts';
import { StatsWindow } from '../../stats/stats-window.ts';
import type { StreamServerMessage } from './messages.ts';
import { parseServerMessage } from './messages.ts';
import { latestSamples, latestUsage, subscribeNodeUsage, subscribeSamples } from './stats-samples.ts';
import { StreamHub } from './stream-hub.ts';

function wire(taskId: string, atMs: number, cpuSeconds: number): ReplicaSampleWire {
  return {
    task_id: taskId,
    service: 'web',
    slot: Number(taskId.split('-')[1]),
    container_id: `c-${taskId}`,
    at: atMs,
    cpu_seconds: cpuSeconds,
    memory_working_set_bytes: 64 * 1024 * 1024,
    memory_limit_bytes: 128 * 1024 * 1024,
    network_rx_bytes: 1000,
    network_tx_bytes: 10,
    block_read_bytes: 0,
    block_write_bytes: 0,
  };
}

function webService() {
  return serviceView({
    name: 'web',
    replicas: 1,
    containers: [replica({ slot: 0, name: 'web-0', task_id: 'web-0' })],
  });
}

/** A source of fixed views and no events. */
function quietSource(services: ServiceView[], nodes: NodeView[]) {
  return {
    views: () => ({ services, nodes }),
    recentEvents: () => [],
    subscribeEvents: (_listener: (event: SkiffEvent) => void) => () => {},
  };
}

/** A client whose socket keeps every message it is sent in `sent`. */
function connectClient(hub: StreamHub, sent: StreamServerMessage[]) {
  return hub.connect(
    {
      send: (text) => sent.push(parseServerMessage(text) ?? { type: 'error', error: text }),
      bufferedAmount: 0,
      close() {},
    },
    { name: 'admin', role: 'admin' },
    () => true,
  );
}

test('samples flow from the stats window into changes and snapshots', () => {
  let now = 1_000_000;
  const window = new StatsWindow();
  const service = webService();
  const hub = new StreamHub({
    now: () => now,
    source: {
      ...quietSource([service], []),
      subscribeStats: (listener) => subscribeSamples(window, () => now, listener),
    },
  });
  const sent: StreamServerMessage[] = [];
  connectClient(hub, sent);
  const record = (cpuSeconds: number, tasks = ['web-0']) => {
    window.record(
      'n1',
      5000,
      { node: undefined, replicas: tasks.map((t) => wire(t, now, cpuSeconds)), dropped: 0 },
      now,
    );
    now += 5000;
    hub.tick();
  };
  record(10, ['web-0', 'other-0']);
  assert.deepEqual(
    sent.map((m) => m.type),
    ['snapshot'],
    'one sample: no CPU % yet, nothing sent',
  );
  record(12.5, ['web-0', 'other-0']);
  const changes = sent[1];
  assert.ok(changes?.type === 'changes', JSON.stringify(sent));
  assert.deepEqual(
    changes.stats?.map((s) => [
      s.task_id,
      s.container,
      s.node_id,
      s.cpu_percent,
      s.memory_bytes,
      s.net_rx_bytes,
    ]),
    [['web-0', 'web-0', 'n1', 50, 64 * 1024 * 1024, 1000]],
    'other-0 is no replica of the state',
  );
  const snapshot = hub.snapshot({ name: 'admin', role: 'admin' });
  assert.deepEqual(
    snapshot.stats.map((s) => s.cpu_percent),
    [50],
  );
  hub.close();
});

test('a node’s host usage flows from the stats window into changes and snapshots, from its second sample', () => {
  let now = 1_000_000;
  const window = new StatsWindow();
  const node: NodeView = {
    id: 'n1',
    name: 'n1',
    status: 'ready',
    availability: 'active',
    address: '127.0.0.1',
    labels: {},
    engine_version: '20.10',
    cpu_millicores: 4000,
    memory_bytes: 8 * 1024 ** 3,
    allocated_cpu_millicores: 0,
    allocated_memory_bytes: 0,
    containers: 0,
    joined_at: '2026-12-01T00:00:00.000Z',
    last_heartbeat: null,
    message: null,
  };
  const hub = new StreamHub({
    now: () => now,
    source: {
      ...quietSource([], [node]),
      subscribeNodeUsage: (listener) => subscribeNodeUsage(window, () => now, listener),
    },
  });
  const sent: StreamServerMessage[] = [];
  connectClient(hub, sent);
  const record = (nodeId: string, cpuSeconds: number) => {
    const host = {
      at: now,
      cpu_seconds: cpuSeconds,
      cpu_count: 4,
      memory_used_bytes: 3 * 1024 ** 3,
      memory_total_bytes: 8 * 1024 ** 3,
      disk_path: '/var/lib/docker',
      disk_used_bytes: 1,
      disk_total_bytes: 2,
    };
    window.record(nodeId, 5000, { node: host, replicas: [], dropped: 0 }, now);
  };
  record('n1', 100);
  record('gone', 100);
  now += 5000;
  hub.tick();
  assert.deepEqual(
    sent.map((m) => m.type),
    ['snapshot'],
    'one sample: no CPU % yet',
  );
  // 10 busy seconds of 4 cores over 5 s: half the host.
  record('n1', 110);
  record('gone', 110);
  now += 5000;
  hub.tick();
  const changes = sent[1];
  assert.ok(changes?.type === 'changes', JSON.stringify(sent));
  assert.deepEqual(
    changes.node_usage?.map((u) => [u.node_id, u.cpu_percent, u.cpu_count, u.memory_used_bytes]),
    [['n1', 50, 4, 3 * 1024 ** 3]],
    'a node the state does not hold is not sent',
  );
  assert.deepEqual(
    hub.snapshot({ name: 'admin', role: 'admin' }).node_usage?.map((u) => u.node_id),
    ['n1'],
  );
  hub.close();
});

test('no client, no work per stats message; a first client’s snapshot still has the latest samples', () => {
  let now = 1_000_000;
  const window = new StatsWindow();
  const service = webService();
  let listeners = 0;
  let samplesMade = 0;
  const hub = new StreamHub({
    now: () => now,
    source: {
      ...quietSource([service], []),
      subscribeStats: (listener) => {
        listeners += 1;
        const unsubscribe = subscribeSamples(
          window,
          () => now,
          (samples) => {
            samplesMade += samples.length;
            listener(samples);
          },
        );
        return () => {
          listeners -= 1;
          unsubscribe();
        };
      },
      latestStats: () => latestSamples(window, now),
      latestNodeUsage: () => latestUsage(window, now),
    },
  });
  const record = (cpuSeconds: number) => {
    window.record(
      'n1',
      5000,
      { node: undefined, replicas: [wire('web-0', now, cpuSeconds)], dropped: 0 },
      now,
    );
    now += 5000;
  };
  record(10);
  record(12.5);
  assert.equal(listeners, 0, 'nothing follows the window while no client is connected');
  assert.equal(samplesMade, 0);
  assert.deepEqual(
    hub.snapshot({ name: 'admin', role: 'admin' }).stats.map((s) => [s.task_id, s.cpu_percent]),
    [['web-0', 50]],
    'a poll of the snapshot reads the window',
  );
  const sent: StreamServerMessage[] = [];
  const connection = connectClient(hub, sent);
  assert.equal(listeners, 1);
  const first = sent[0];
  assert.ok(first?.type === 'snapshot', JSON.stringify(sent));
  assert.deepEqual(
    first.stats.map((s) => [s.task_id, s.cpu_percent]),
    [['web-0', 50]],
    'the first frame holds the latest sample',
  );
  record(17.5);
  hub.tick();
  const changes = sent[1];
  assert.ok(changes?.type === 'changes', JSON.stringify(sent));
  assert.deepEqual(
    changes.stats?.map((s) => s.cpu_percent),
    [100],
  );
  connection.closed();
  assert.equal(listeners, 0, 'the last client gone, the window is no longer followed');
  record(20);
  assert.equal(samplesMade, 1);
  hub.close();
});
