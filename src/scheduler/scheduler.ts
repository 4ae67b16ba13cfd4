/**
 * The scheduler: a pure function from (replicas to place, a snapshot of nodes) to placements.
 * Each node passes the filters (checkers) or is rejected with a reason; the survivors are scored
 * (binpack by default, or spread) with anti-affinity penalties so replicas of one service land on
 * different nodes and zones, and a penalty for nodes where the service's replicas just failed.
 * Unplaced replicas get the rejected nodes' reasons summed up ("0/5 nodes available: 3
 * insufficient memory, 2 port 8080 in use").
 */
import type { NodeStatus } from '../model/node.ts';
import type { PortSpec } from '../model/service-spec.ts';
import { bindsHostPort } from '../model/service-spec.ts';
import type { Constraint } from './constraints.ts';
import { satisfies } from './constraints.ts';
import type { Demand } from './resources.ts';

export interface NodeSnapshot {
  readonly id: string;
  readonly status: NodeStatus;
  /** False when cordoned or draining: nothing new is placed there. */
  readonly schedulable: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  readonly allocatedCpuMillicores: number;
  readonly allocatedMemoryBytes: number;
  /** `tcp/8080`-style keys of host ports already taken by replicas on this node. */
  readonly usedHostPorts: ReadonlySet<string>;
  /** Replicas per service already on this node. */
  readonly serviceCounts: ReadonlyMap<string, number>;
}

export interface PlacementRequest {
  readonly taskId: string;
  readonly service: string;
  readonly demand: Demand;
  readonly ports: readonly PortSpec[];
  readonly constraints: readonly Constraint[];
  readonly strategy: 'binpack' | 'spread';
  /** Nodes where this service's replicas recently failed (node down, drained away). */
  readonly penalizedNodes: ReadonlySet<string>;
}

export type Placement =
  | { readonly taskId: string; readonly placed: true; readonly nodeId: string }
  | { readonly taskId: string; readonly placed: false; readonly reason: string };

interface MutableNode {
  readonly base: NodeSnapshot;
  readonly zone: string | undefined;
  cpu: number;
  memory: number;
  readonly ports: Set<string>;
  readonly counts: Map<string, number>;
  /** Replicas of every service on the node. */
  replicas: number;
}

type Checker = (node: MutableNode, request: PlacementRequest) => string | null;

/** Same-node anti-affinity outweighs any packing gain (fit scores span about ±18). */
const SAME_NODE_PENALTY = 40;
/** Same-zone anti-affinity outweighs packing too, but less than sharing a node. */
const SAME_ZONE_PENALTY = 20;
const FAILED_HERE_PENALTY = 10;
const TIE_BREAK_PER_REPLICA = 1e-6;

export function portKey(port: PortSpec): string {
  return `${port.protocol}/${port.host_port}`;
}

// Order matters only for which reason a node is counted under: status and availability first
// (they explain the most and are cheapest), then constraints, then resources, then ports.
const CHECKERS: readonly Checker[] = [
  (node) => (node.base.status === 'ready' ? null : `node ${node.base.status}`),
  (node) => (node.base.schedulable ? null : 'node cordoned'),
  (node, request) => {
    for (const constraint of request.constraints) {
      if (!satisfies(node.base, constraint)) return `constraint ${constraint.text} not met`;
    }
    return null;
  },
  (node, request) =>
    node.cpu + request.demand.cpuMillicores <= node.base.cpuMillicores ? null : 'insufficient cpu',
  (node, request) =>
    node.memory + request.demand.memoryBytes <= node.base.memoryBytes ? null : 'insufficient memory',
  (node, request) => {
    for (const port of request.ports) {
      if (bindsHostPort(port) && node.ports.has(portKey(port))) return `port ${port.host_port} in use`;
    }
    return null;
  },
];

/** Higher is better. Binpack favours fuller nodes (Nomad's 20 − (10^freeCpu + 10^freeMem)). */
function score(
  node: MutableNode,
  request: PlacementRequest,
  zoneCounts: ReadonlyMap<string, number>,
): number {
  const cpuTotal = Math.max(node.base.cpuMillicores, 1);
  const memTotal = Math.max(node.base.memoryBytes, 1);
  const freeCpu = 1 - (node.cpu + request.demand.cpuMillicores) / cpuTotal;
  const freeMem = 1 - (node.memory + request.demand.memoryBytes) / memTotal;
  const fit = 20 - (10 ** freeCpu + 10 ** freeMem);
  let value = request.strategy === 'binpack' ? fit : -fit;
  value -= (node.counts.get(request.service) ?? 0) * SAME_NODE_PENALTY;
  if (node.zone !== undefined) value -= (zoneCounts.get(node.zone) ?? 0) * SAME_ZONE_PENALTY;
  if (request.penalizedNodes.has(node.base.id)) value -= FAILED_HERE_PENALTY;
  // Among otherwise equal nodes (no resource requests), the one with fewer replicas in all wins:
  // small enough never to outweigh a real packing difference.
  return value - node.replicas * TIE_BREAK_PER_REPLICA;
}

/**
 * Places requests in order against one snapshot, reserving as it goes so later requests see
 * earlier placements. Ties break by node id, so the same inputs give the same plan.
 */
export function schedule(nodes: readonly NodeSnapshot[], requests: readonly PlacementRequest[]): Placement[] {
  const state: MutableNode[] = [...nodes]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((base) => ({
      base,
      zone: base.labels.zone,
      cpu: base.allocatedCpuMillicores,
      memory: base.allocatedMemoryBytes,
      ports: new Set(base.usedHostPorts),
      counts: new Map(base.serviceCounts),
      replicas: [...base.serviceCounts.values()].reduce((a, b) => a + b, 0),
    }));
  const zoned = state.some((n) => n.zone !== undefined);
  return requests.map((request) => placeOne(state, request, zoned));
}

function placeOne(state: readonly MutableNode[], request: PlacementRequest, zoned: boolean): Placement {
  const zoneCounts = zoned ? countByZone(state, request.service) : EMPTY;
  const reasons = new Map<string, number>();
  let best: MutableNode | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const node of state) {
    const rejection = firstRejection(node, request);
    if (rejection !== null) {
      reasons.set(rejection, (reasons.get(rejection) ?? 0) + 1);
      continue;
    }
    const value = score(node, request, zoneCounts);
    if (value > bestScore) {
      best = node;
      bestScore = value;
    }
  }
  if (!best) return { taskId: request.taskId, placed: false, reason: summarize(state.length, reasons) };
  best.cpu += request.demand.cpuMillicores;
  best.memory += request.demand.memoryBytes;
  for (const port of request.ports) if (bindsHostPort(port)) best.ports.add(portKey(port));
  best.counts.set(request.service, (best.counts.get(request.service) ?? 0) + 1);
  best.replicas++;
  return { taskId: request.taskId, placed: true, nodeId: best.base.id };
}

const EMPTY: ReadonlyMap<string, number> = new Map();

function countByZone(state: readonly MutableNode[], service: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of state) {
    const n = node.counts.get(service);
    if (n && node.zone !== undefined) counts.set(node.zone, (counts.get(node.zone) ?? 0) + n);
  }
  return counts;
}

function firstRejection(node: MutableNode, request: PlacementRequest): string | null {
  for (const check of CHECKERS) {
    const reason = check(node, request);
    if (reason !== null) return reason;
  }
  return null;
}

function summarize(total: number, reasons: ReadonlyMap<string, number>): string {
  if (total === 0) return 'no nodes have joined the cluster';
  const parts = [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}`);
  return `0/${total} nodes available: ${parts.join(', ')}`;
}
