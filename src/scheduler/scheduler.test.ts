import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConstraint } from './constraints.ts';
import type { NodeSnapshot, PlacementRequest } from './scheduler.ts';
import { schedule } from './scheduler.ts';

const GiB = 1024 ** 3;

function node(id: string, overrides: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    id,
    status: 'ready',
    schedulable: true,
    labels: {},
    cpuMillicores: 4000,
    memoryBytes: 8 * GiB,
    allocatedCpuMillicores: 0,
    allocatedMemoryBytes: 0,
    usedHostPorts: new Set(),
    serviceCounts: new Map(),
    ...overrides,
  };
}

function request(taskId: string, overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    taskId,
    service: 'web',
    demand: { cpuMillicores: 0, memoryBytes: 0 },
    ports: [],
    constraints: [],
    strategy: 'binpack',
    penalizedNodes: new Set(),
    ...overrides,
  };
}

test('replicas of one service spread across nodes', () => {
  const placements = schedule([node('a'), node('b'), node('c')], [request('1'), request('2'), request('3')]);
  const nodes = placements.map((p) => (p.placed ? p.nodeId : null));
  assert.deepEqual(new Set(nodes), new Set(['a', 'b', 'c']));
});

test('binpack prefers the fuller node for a new service', () => {
  const placements = schedule(
    [node('a'), node('b', { allocatedMemoryBytes: 6 * GiB })],
    [request('1', { service: 'other', demand: { cpuMillicores: 0, memoryBytes: GiB } })],
  );
  assert.deepEqual(placements[0], { taskId: '1', placed: true, nodeId: 'b' });
});

test('spread prefers the emptier node', () => {
  const placements = schedule(
    [node('a'), node('b', { allocatedMemoryBytes: 6 * GiB })],
    [request('1', { strategy: 'spread', demand: { cpuMillicores: 0, memoryBytes: GiB } })],
  );
  assert.deepEqual(placements[0], { taskId: '1', placed: true, nodeId: 'a' });
});

test('reservations made earlier in the same plan count', () => {
  const placements = schedule(
    [node('a', { memoryBytes: 2 * GiB })],
    [
      request('1', { demand: { cpuMillicores: 0, memoryBytes: GiB } }),
      request('2', { demand: { cpuMillicores: 0, memoryBytes: 1.5 * GiB } }),
    ],
  );
  assert.equal(placements[0]?.placed, true);
  assert.deepEqual(placements[1], {
    taskId: '2',
    placed: false,
    reason: '0/1 nodes available: 1 insufficient memory',
  });
});

test('every rejected node is counted under its reason', () => {
  const port = {
    container_port: 80,
    host_port: 8080,
    protocol: 'tcp' as const,
    mode: 'host' as const,
    app_protocol: 'tcp' as const,
  };
  const placements = schedule(
    [
      node('a', { usedHostPorts: new Set(['tcp/8080']) }),
      node('b', { memoryBytes: GiB / 2 }),
      node('c', { memoryBytes: GiB / 2 }),
      node('d', { status: 'unreachable' }),
    ],
    [request('1', { ports: [port], demand: { cpuMillicores: 100, memoryBytes: GiB } })],
  );
  assert.deepEqual(placements[0], {
    taskId: '1',
    placed: false,
    reason: '0/4 nodes available: 2 insufficient memory, 1 port 8080 in use, 1 node unreachable',
  });
});

test('a fixed host port fits once per node', () => {
  const port = {
    container_port: 80,
    host_port: 8080,
    protocol: 'tcp' as const,
    mode: 'host' as const,
    app_protocol: 'tcp' as const,
  };
  const placements = schedule(
    [node('a')],
    [request('1', { ports: [port] }), request('2', { ports: [port] })],
  );
  assert.equal(placements[0]?.placed, true);
  assert.equal(placements[1]?.placed, false);
});

test('no nodes at all says so', () => {
  assert.deepEqual(schedule([], [request('1')])[0], {
    taskId: '1',
    placed: false,
    reason: 'no nodes have joined the cluster',
  });
});

test('label constraints filter nodes, and a node without the label fails ==', () => {
  const nodes = [node('a', { labels: { zone: 'eu-1' } }), node('b', { labels: { zone: 'us-1' } }), node('c')];
  const placements = schedule(nodes, [
    request('1', { constraints: [parseConstraint('zone==eu-1')] }),
    request('2', {
      service: 'other',
      constraints: [parseConstraint('zone!=eu-1'), parseConstraint('node!=b')],
    }),
    request('3', { service: 'third', constraints: [parseConstraint('zone==ap-1')] }),
  ]);
  assert.deepEqual(placements[0], { taskId: '1', placed: true, nodeId: 'a' });
  assert.deepEqual(placements[1], { taskId: '2', placed: true, nodeId: 'c' });
  assert.deepEqual(placements[2], {
    taskId: '3',
    placed: false,
    reason: '0/3 nodes available: 3 constraint zone==ap-1 not met',
  });
});

test('cordoned nodes take nothing new', () => {
  const placements = schedule([node('a', { schedulable: false }), node('b')], [request('1'), request('2')]);
  assert.deepEqual(
    placements.map((p) => (p.placed ? p.nodeId : p.reason)),
    ['b', 'b'],
  );
  assert.deepEqual(schedule([node('a', { schedulable: false })], [request('1')])[0], {
    taskId: '1',
    placed: false,
    reason: '0/1 nodes available: 1 node cordoned',
  });
});

test('replicas spread across zones before doubling up in one', () => {
  const nodes = [
    node('a1', { labels: { zone: 'a' } }),
    node('a2', { labels: { zone: 'a' } }),
    node('b1', { labels: { zone: 'b' } }),
  ];
  const [first, second] = schedule(nodes, [request('1'), request('2')]).map((p) =>
    p.placed ? p.nodeId : '',
  );
  const zoneOf = (id: string | undefined) => nodes.find((n) => n.id === id)?.labels.zone;
  assert.notEqual(zoneOf(first), zoneOf(second));
});

test('a node where the service just failed is avoided when others fit', () => {
  const placements = schedule([node('a'), node('b')], [request('1', { penalizedNodes: new Set(['a']) })]);
  assert.deepEqual(placements[0], { taskId: '1', placed: true, nodeId: 'b' });
  const only = schedule([node('a')], [request('1', { penalizedNodes: new Set(['a']) })]);
  assert.deepEqual(only[0], { taskId: '1', placed: true, nodeId: 'a' });
});

test('an ingress port is served by the proxies, so replicas never conflict over it', () => {
  const port = {
    container_port: 80,
    host_port: 8080,
    protocol: 'tcp' as const,
    mode: 'ingress' as const,
    app_protocol: 'http' as const,
  };
  const placements = schedule(
    [node('a')],
    [request('1', { ports: [port] }), request('2', { ports: [port] })],
  );
  assert.deepEqual(
    placements.map((p) => p.placed),
    [true, true],
  );
});

test('services without requests even out over identical nodes', () => {
  const nodes = ['n1', 'n10', 'n2', 'n3'].map((id) => node(id));
  const requests = ['a', 'b', 'c', 'd'].flatMap((service) =>
    [0, 1, 2, 3, 4].map((i) => request(`${service}${i}`, { service })),
  );
  const perNode = new Map<string, number>();
  for (const p of schedule(nodes, requests))
    if (p.placed) perNode.set(p.nodeId, (perNode.get(p.nodeId) ?? 0) + 1);
  assert.deepEqual([...perNode.values()].sort(), [5, 5, 5, 5]);
});
