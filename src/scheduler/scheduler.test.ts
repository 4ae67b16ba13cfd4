import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PortSpec } from '../model/service-spec.ts';
import { bindsHostPort } from '../model/service-spec.ts';
import { parseConstraint, satisfies } from './constraints.ts';
import type { Demand } from './resources.ts';
import type { NodeSnapshot, Placement, PlacementRequest } from './scheduler.ts';
import { portKey, schedule } from './scheduler.ts';
import { hostPort, node, request } from './scheduler-fixture.ts';

const GiB = 1024 ** 3;

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

test("a node's fit is worked out again once a placement there took room, for requests of one demand", () => {
  // b already holds a replica of another service (no room taken), so only the fit tells a and b
  // apart once a holds the first: the second request must see a's room as it is after the first.
  const other = new Map([['db', 1]]);
  const demand = { cpuMillicores: 1000, memoryBytes: GiB };
  const placements = schedule(
    [node('a'), node('b', { serviceCounts: other })],
    [request('1', { demand, strategy: 'spread' }), request('2', { demand, strategy: 'spread' })],
  );
  assert.deepEqual(
    placements.map((p) => (p.placed ? p.nodeId : null)),
    ['a', 'b'],
  );
});

test('every rejected node is counted under its reason', () => {
  const port = hostPort();
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
  const port = hostPort();
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
  const port = hostPort({ mode: 'ingress', app_protocol: 'http' });
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

/** Replicas per node id, from a plan where everything placed. */
function perNode(placements: readonly Placement[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of placements) {
    assert.ok(p.placed, `${p.taskId} not placed`);
    counts.set(p.nodeId, (counts.get(p.nodeId) ?? 0) + 1);
  }
  return counts;
}

function replicasOf(service: string, count: number, demand: Demand): PlacementRequest[] {
  return Array.from({ length: count }, (_, i) =>
    request(`${service}.${i + 1}`, { service, desiredReplicas: count, demand }),
  );
}

const SMALL = { cpuMillicores: 100, memoryBytes: 128 * 1024 ** 2 };

test('a 20-replica service evens out over 4 empty nodes rather than packing onto one', () => {
  // All 20 would fit on one node, and binpack alone would put them there.
  const nodes = ['a', 'b', 'c', 'd'].map((id) => node(id));
  const counts = perNode(schedule(nodes, replicasOf('web', 20, SMALL)));
  assert.deepEqual([...counts.values()], [5, 5, 5, 5]);
});

test('a big service packs up to a tenth of itself per node; a small one gets one per node', () => {
  const nodes = Array.from({ length: 100 }, (_, i) => node(`n${String(i).padStart(3, '0')}`));
  const big = perNode(schedule(nodes, replicasOf('big', 30, SMALL)));
  assert.ok(Math.max(...big.values()) <= 3, `${Math.max(...big.values())} replicas on one node`);
  assert.equal(big.size, 10, 'binpack fills nodes up to the allowance');
  const small = perNode(schedule(nodes, replicasOf('small', 19, SMALL)));
  assert.equal(small.size, 19);
});

// The scheduler filters with plain boolean tests and builds reasons only when nothing fits; the
// reference below does it the plain way (every check, with its reason, on every node, for every
// request; fresh copies and counts throughout). Same plans, same reasons, on random snapshots.

interface ReferenceNode {
  readonly base: NodeSnapshot;
  cpu: number;
  memory: number;
  readonly ports: Set<string>;
  readonly counts: Map<string, number>;
}

function referenceRejection(node: ReferenceNode, request: PlacementRequest): string | null {
  if (node.base.status !== 'ready') return `node ${node.base.status}`;
  if (!node.base.schedulable) return 'node cordoned';
  const unmet = request.constraints.find((c) => !satisfies(node.base, c));
  if (unmet) return `constraint ${unmet.text} not met`;
  if (!(node.cpu + request.demand.cpuMillicores <= node.base.cpuMillicores)) return 'insufficient cpu';
  if (!(node.memory + request.demand.memoryBytes <= node.base.memoryBytes)) return 'insufficient memory';
  const taken = request.ports.find((p) => bindsHostPort(p) && node.ports.has(portKey(p)));
  if (taken) return `port ${taken.host_port} in use`;
  return null;
}

function referenceScore(node: ReferenceNode, request: PlacementRequest, zones: Map<string, number>): number {
  const freeCpu = 1 - (node.cpu + request.demand.cpuMillicores) / Math.max(node.base.cpuMillicores, 1);
  const freeMem = 1 - (node.memory + request.demand.memoryBytes) / Math.max(node.base.memoryBytes, 1);
  const fit = 20 - (10 ** freeCpu + 10 ** freeMem);
  let value = request.strategy === 'binpack' ? fit : -fit;
  const allowed = Math.max(1, Math.floor(request.desiredReplicas / 10));
  value -= Math.max(0, (node.counts.get(request.service) ?? 0) + 1 - allowed) * 40;
  const zone = node.base.labels.zone;
  if (zone !== undefined) value -= (zones.get(zone) ?? 0) * 20;
  if (request.penalizedNodes.has(node.base.id)) value -= 10;
  const replicas = [...node.counts.values()].reduce((a, b) => a + b, 0);
  return value - replicas * 1e-6;
}

function referenceSchedule(
  nodes: readonly NodeSnapshot[],
  requests: readonly PlacementRequest[],
): Placement[] {
  const state: ReferenceNode[] = [...nodes]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((base) => ({
      base,
      cpu: base.allocatedCpuMillicores,
      memory: base.allocatedMemoryBytes,
      ports: new Set(base.usedHostPorts),
      counts: new Map(base.serviceCounts),
    }));
  return requests.map((r): Placement => {
    const zones = new Map<string, number>();
    for (const n of state) {
      const zone = n.base.labels.zone;
      if (zone !== undefined) zones.set(zone, (zones.get(zone) ?? 0) + (n.counts.get(r.service) ?? 0));
    }
    const reasons = new Map<string, number>();
    let best: ReferenceNode | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const n of state) {
      const reason = referenceRejection(n, r);
      if (reason !== null) {
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        continue;
      }
      const value = referenceScore(n, r, zones);
      if (value > bestScore) {
        best = n;
        bestScore = value;
      }
    }
    if (!best) {
      const parts = [...reasons].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}`);
      const reason =
        state.length === 0
          ? 'no nodes have joined the cluster'
          : `0/${state.length} nodes available: ${parts.join(', ')}`;
      return { taskId: r.taskId, placed: false, reason };
    }
    best.cpu += r.demand.cpuMillicores;
    best.memory += r.demand.memoryBytes;
    for (const p of r.ports) if (bindsHostPort(p)) best.ports.add(portKey(p));
    best.counts.set(r.service, (best.counts.get(r.service) ?? 0) + 1);
    return { taskId: r.taskId, placed: true, nodeId: best.base.id };
  });
}

/** mulberry32: a seeded uniform number in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PORTS: readonly PortSpec[] = [
  { container_port: 80, host_port: 8080, protocol: 'tcp', mode: 'host', app_protocol: 'tcp' },
  { container_port: 80, host_port: 8080, protocol: 'udp', mode: 'host', app_protocol: 'tcp' },
  { container_port: 90, host_port: 9090, protocol: 'tcp', mode: 'host', app_protocol: 'tcp' },
  { container_port: 90, host_port: 9090, protocol: 'tcp', mode: 'ingress', app_protocol: 'http' },
  { container_port: 70, protocol: 'tcp', mode: 'host', app_protocol: 'tcp' },
];
const CONSTRAINTS = ['zone==a', 'zone!=b', 'disk==ssd', 'disk!=hdd', 'node!=n3', 'node==n10'].map(
  parseConstraint,
);

/** A small, crowded cluster and a plan for it: many rejections of every kind, some ties. */
function randomCase(seed: number): { nodes: NodeSnapshot[]; requests: PlacementRequest[] } {
  const rng = seeded(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const pickOne = <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T;
  const some = <T>(items: readonly T[], p: number): T[] => items.filter(() => rng() < p);
  const services = ['web', 'api', 'db'];
  const zoned = rng() < 0.7;
  const ids = some(
    Array.from({ length: 12 }, (_, i) => `n${i}`),
    rng() < 0.03 ? 0 : 0.6,
  ).sort(() => rng() - 0.5);
  const nodes = ids.map((id) => {
    const cpu = pickOne([1000, 2000, 4000]);
    const memory = pickOne([1, 2, 4]) * GiB;
    const labels: Record<string, string> = {};
    if (zoned && rng() < 0.8) labels.zone = pickOne(['a', 'b', 'c']);
    if (rng() < 0.7) labels.disk = pickOne(['ssd', 'hdd']);
    return node(id, {
      status: rng() < 0.8 ? 'ready' : pickOne(['unreachable', 'down'] as const),
      schedulable: rng() < 0.85,
      labels,
      cpuMillicores: cpu,
      memoryBytes: memory,
      allocatedCpuMillicores: int(0, 4) * (cpu / 4),
      allocatedMemoryBytes: int(0, 4) * (memory / 4),
      usedHostPorts: new Set(some(['tcp/8080', 'udp/8080', 'tcp/9090'], 0.25)),
      serviceCounts: new Map(some(services, 0.5).map((s) => [s, int(0, 3)])),
    });
  });
  const requests = Array.from({ length: int(1, 10) }, (_, i) =>
    request(`t${i}`, {
      service: pickOne(services),
      desiredReplicas: pickOne([0, 1, 5, 10, 19, 20, 29, 30, 45]),
      demand: {
        cpuMillicores: pickOne([0, 0, 250, 500, 1000, 2000]),
        memoryBytes: pickOne([0, 0, 0.25, 0.5, 1, 2]) * GiB,
      },
      ports: some(PORTS, 0.2),
      constraints: some(CONSTRAINTS, 0.12),
      strategy: rng() < 0.7 ? 'binpack' : 'spread',
      penalizedNodes: new Set(some(ids, 0.2)),
    }),
  );
  return { nodes, requests };
}

/** What schedule() must leave as it was: the snapshot's own sets and maps. */
function contents(nodes: readonly NodeSnapshot[]): string {
  return JSON.stringify(nodes.map((n) => [[...n.usedHostPorts], [...n.serviceCounts]]));
}

test('plans and reasons match a plain reference implementation on random snapshots', () => {
  let placed = 0;
  const reasons = new Set<string>();
  for (let seed = 1; seed <= 500; seed++) {
    const { nodes, requests } = randomCase(seed);
    const before = contents(nodes);
    const actual = schedule(nodes, requests);
    const expected = referenceSchedule(nodes, requests);
    assert.deepEqual(actual, expected, `seed ${seed}`);
    const sorted = [...nodes].sort((a, b) => (a.id < b.id ? -1 : 1));
    assert.deepEqual(schedule(sorted, requests), expected, `seed ${seed}, nodes in id order`);
    assert.equal(contents(nodes), before, `seed ${seed}: the snapshot was modified`);
    for (const p of actual) {
      if (p.placed) placed++;
      else
        for (const part of p.reason.replace(/^0\/\d+ nodes available: /, '').split(', '))
          reasons.add(part.replace(/^\d+ /, ''));
    }
  }
  // The cases exercise both paths, and every kind of reason.
  assert.ok(placed > 500, `only ${placed} placed`);
  for (const kind of [
    'node unreachable',
    'node down',
    'node cordoned',
    'constraint',
    'insufficient cpu',
    'insufficient memory',
    'port',
    'no nodes',
  ])
    assert.ok(
      [...reasons].some((r) => r.startsWith(kind)),
      `no case rejects with ${kind}: ${[...reasons].join(' | ')}`,
    );
});

test("runs of one kind of request (a service's replicas, a failover's) match the reference too", () => {
  // Each request repeated as a service's replicas are: the same spec, its own task id, its own
  // copy of the penalized nodes. The scheduler reuses each node's fit and score along a run.
  let runs = 0;
  for (let seed = 1; seed <= 500; seed++) {
    const { nodes, requests } = randomCase(seed);
    const rng = seeded(seed + 1_000);
    const repeated = requests.flatMap((r, i) =>
      Array.from({ length: 1 + Math.floor(rng() * 6) }, (_, k) => ({
        ...r,
        taskId: `${r.taskId}.${k}`,
        penalizedNodes: new Set(r.penalizedNodes),
        ...(rng() < 0.1 && i % 2 === 0
          ? { strategy: r.strategy === 'binpack' ? ('spread' as const) : ('binpack' as const) }
          : {}),
      })),
    );
    runs += repeated.length - requests.length;
    assert.deepEqual(schedule(nodes, repeated), referenceSchedule(nodes, repeated), `seed ${seed}`);
  }
  assert.ok(runs > 1000, `only ${runs} repeated requests`);
});

test('a failover-sized run: 300 replicas of one service over 400 zoned nodes, as the reference places them', () => {
  const zones = ['a', 'b', 'c'];
  const nodes = Array.from({ length: 400 }, (_, i) =>
    node(`n${String(i).padStart(3, '0')}`, {
      labels: { zone: zones[i % 3] as string },
      cpuMillicores: 2000,
      memoryBytes: 4 * GiB,
      allocatedCpuMillicores: (i % 7) * 100,
      serviceCounts: new Map([['web', i % 2]]),
    }),
  );
  const requests = Array.from({ length: 300 }, (_, i) =>
    request(`t${i}`, {
      service: 'web',
      desiredReplicas: 95,
      demand: { cpuMillicores: 100, memoryBytes: 32 * 2 ** 20 },
      strategy: 'spread',
      penalizedNodes: new Set(['n001', 'n002']),
    }),
  );
  assert.deepEqual(schedule(nodes, requests), referenceSchedule(nodes, requests));
});

test('a replica needing an agent feature goes only to nodes whose agent has it, else pending with why', () => {
  const old = node('a', { features: new Set(['exec-health']) });
  const upgraded = node('b', { features: new Set(['exec-health', 'init']), allocatedMemoryBytes: 7 * GiB });
  const needsInit = request('1', { requiredFeatures: ['init'] });
  assert.deepEqual(schedule([old, upgraded], [needsInit])[0], { taskId: '1', placed: true, nodeId: 'b' });
  assert.deepEqual(schedule([old, node('c', { features: new Set() })], [needsInit])[0], {
    taskId: '1',
    placed: false,
    reason: '0/2 nodes available: 2 agent lacks feature init (upgrade its agent)',
  });
  const plain = request('2', { requiredFeatures: [] });
  assert.equal(schedule([old], [plain])[0]?.placed, true, 'a replica needing nothing goes anywhere');
});

test('max_replicas_per_node bounds a service on each node; the rest wait with the reason', () => {
  const nodes = [node('n1', { serviceCounts: new Map([['web', 1]]) }), node('n2')];
  const placements = schedule(nodes, [
    request('t1', { desiredReplicas: 40, maxPerNode: 2 }),
    request('t2', { desiredReplicas: 40, maxPerNode: 2 }),
    request('t3', { desiredReplicas: 40, maxPerNode: 2 }),
    request('t4', { desiredReplicas: 40, maxPerNode: 2 }),
  ]);
  assert.deepEqual(
    placements.map((p) => (p.placed ? p.nodeId : p.reason)),
    ['n2', 'n1', 'n2', '0/2 nodes available: 2 max replicas per node (2) reached'],
  );
  // Other services are not bound by it.
  const other = schedule(
    [node('n1', { serviceCounts: new Map([['web', 5]]) })],
    [request('t5', { service: 'api', maxPerNode: 1 })],
  );
  assert.equal(other[0]?.placed, true);
});

test('a request like one that fit nowhere gets its reason again, worked out anew once something was placed', () => {
  const nodes = [
    node('a', { cpuMillicores: 1000, memoryBytes: GiB }),
    node('b', { cpuMillicores: 1000, memoryBytes: GiB }),
  ];
  const big = { demand: { cpuMillicores: 500, memoryBytes: 2 * GiB } };
  const placements = schedule(nodes, [
    request('1', big),
    request('2', big),
    request('3', { service: 'api', demand: { cpuMillicores: 800, memoryBytes: 0 } }),
    request('4', big),
  ]);
  const reasons = placements.map((p) => (p.placed ? p.nodeId : p.reason));
  assert.equal(reasons[0], '0/2 nodes available: 2 insufficient memory');
  assert.equal(reasons[1], reasons[0]);
  assert.equal(reasons[3], '0/2 nodes available: 1 insufficient cpu, 1 insufficient memory');
});
