/**
 * The scheduler: a pure function from (replicas to place, a snapshot of nodes) to placements.
 * Each node passes the filters (checkers) or is rejected with a reason; the survivors are scored
 * (binpack by default, or spread) with an anti-affinity penalty so replicas of one service land
 * on different nodes, and the best wins. Unplaced replicas get the rejected nodes' reasons summed
 * up ("0/5 nodes: 3 insufficient memory, 2 port 8080 in use").
 */
import type { NodeStatus } from '../model/node.ts';
import type { PortSpec } from '../model/service-spec.ts';
import type { Demand } from './resources.ts';

export interface NodeSnapshot {
  readonly id: string;
  readonly status: NodeStatus;
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
  readonly strategy: 'binpack' | 'spread';
}

export type Placement =
  | { readonly taskId: string; readonly placed: true; readonly nodeId: string }
  | { readonly taskId: string; readonly placed: false; readonly reason: string };

type Check = (node: MutableNode, request: PlacementRequest) => string | null;

interface MutableNode {
  readonly base: NodeSnapshot;
  cpu: number;
  memory: number;
  readonly ports: Set<string>;
  readonly counts: Map<string, number>;
}

export function portKey(port: PortSpec): string {
  return `${port.protocol}/${port.host_port}`;
}

// Status first: it is the cheapest and explains the most; then resources, then ports.
const CHECKS: readonly Check[] = [
  (node) => (node.base.status === 'ready' ? null : `node ${node.base.status}`),
  (node, request) =>
    node.cpu + request.demand.cpuMillicores <= node.base.cpuMillicores ? null : 'insufficient cpu',
  (node, request) =>
    node.memory + request.demand.memoryBytes <= node.base.memoryBytes ? null : 'insufficient memory',
  (node, request) => {
    for (const port of request.ports) {
      if (port.host_port !== undefined && node.ports.has(portKey(port))) {
        return `port ${port.host_port} in use`;
      }
    }
    return null;
  },
];

/** Higher is better. Binpack favours fuller nodes (Nomad's 20 − (10^freeCpu + 10^freeMem)). */
function score(node: MutableNode, request: PlacementRequest): number {
  const cpuTotal = Math.max(node.base.cpuMillicores, 1);
  const memTotal = Math.max(node.base.memoryBytes, 1);
  const freeCpu = 1 - (node.cpu + request.demand.cpuMillicores) / cpuTotal;
  const freeMem = 1 - (node.memory + request.demand.memoryBytes) / memTotal;
  const fit = 20 - (10 ** freeCpu + 10 ** freeMem);
  const packing = request.strategy === 'binpack' ? fit : 18 - fit;
  // Anti-affinity dominates packing: a second replica on a node costs more than any fit gains.
  const sameService = node.counts.get(request.service) ?? 0;
  return packing - sameService * 20;
}

/**
 * Places requests in order against one snapshot, reserving as it goes so later requests see
 * earlier placements. Ties break by node id, so the same inputs give the same plan.
 */
export function schedule(nodes: readonly NodeSnapshot[], requests: readonly PlacementRequest[]): Placement[] {
  const state: MutableNode[] = [...nodes]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((base) => ({
      base,
      cpu: base.allocatedCpuMillicores,
      memory: base.allocatedMemoryBytes,
      ports: new Set(base.usedHostPorts),
      counts: new Map(base.serviceCounts),
    }));
  return requests.map((request) => {
    const reasons = new Map<string, number>();
    let best: MutableNode | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const node of state) {
      const rejection = firstRejection(node, request);
      if (rejection !== null) {
        reasons.set(rejection, (reasons.get(rejection) ?? 0) + 1);
        continue;
      }
      const value = score(node, request);
      if (value > bestScore) {
        best = node;
        bestScore = value;
      }
    }
    if (!best) {
      return { taskId: request.taskId, placed: false, reason: summarize(state.length, reasons) };
    }
    best.cpu += request.demand.cpuMillicores;
    best.memory += request.demand.memoryBytes;
    for (const port of request.ports) if (port.host_port !== undefined) best.ports.add(portKey(port));
    best.counts.set(request.service, (best.counts.get(request.service) ?? 0) + 1);
    return { taskId: request.taskId, placed: true, nodeId: best.base.id };
  });
}

function firstRejection(node: MutableNode, request: PlacementRequest): string | null {
  for (const check of CHECKS) {
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
