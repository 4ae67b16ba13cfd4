/**
 * The scheduler: a pure function from (replicas to place, a snapshot of nodes) to placements.
 *
 * `schedule()` places the requests in order against one snapshot, reserving as it goes so later
 * requests see earlier placements. Per request:
 *  1. Filter: a node must pass every checker in `CHECKERS` (ready, schedulable, its agent has the
 *     features the replica needs, constraints met, cpu and memory left, host ports free, fewer of
 *     the service's replicas than its `max_replicas_per_node`).
 *  2. Score the survivors: binpack (the default) favours fuller nodes, spread emptier ones; then
 *     anti-affinity penalties so a service's replicas spread over nodes and zones, and a
 *     penalty for nodes where the service's replicas just failed; last, a tie-break-sized bonus
 *     for a node that already has the replica's image (image-locality.ts). The best score wins;
 *     ties break by node id, so the same inputs give the same plan. A placement that locality
 *     decided says so (`locality`).
 *  3. Reserve the winner's cpu, memory, host ports and replica counts for the requests after it.
 *  4. When no node passes, explain: each node is counted under the first checker it fails, and
 *     the counts are summed up ("0/5 nodes available: 3 insufficient memory, 2 port 8080 in use").
 *
 * The controller calls it on every tick and clusters have thousands of nodes, so the work per node
 * is kept small (the plans are the same as doing it all plainly, which the tests check):
 *  - Little per-call setup: a node's host ports and service counts stay the snapshot's own until
 *    a placement lands on it (copy-on-write), its replica total is summed when it is first scored,
 *    and the nodes are sorted only if they do not come in id order already. A call that places
 *    one replica copies one node's sets, not every node's.
 *  - Filtering is plain boolean tests (`fits`), with the request's port keys built once. Building
 *    a reason per rejected node costs map writes and strings, wasted whenever some node fits, so
 *    reasons come from a second pass, only when none does. That pass runs `CHECKERS`, the single
 *    source of reasons; `fits` must accept exactly the nodes all checkers accept.
 *  - A service's replicas per zone are counted once per call, then kept up to date as replicas
 *    land, instead of recounted over every node for every request.
 *  - Along a run of requests of one kind (a service's replicas), each node's fit and score are
 *    kept and worked out again only where a placement landed, and its zone (`ScoreCache`).
 *
 * Same-node anti-affinity is relative to the service's size: a node holds up to
 * max(1, ⌊desiredReplicas / 10⌋) replicas of a service before the penalty applies. A service
 * under 20 replicas gets one per node while nodes are available, so losing a node loses one
 * replica; a bigger one may put ~10% of itself on a node, so it does not need as many nodes as it
 * has replicas and binpack can fill nodes, while losing a node still loses only ~10% of it.
 */
import type { NodeStatus } from '../model/node.ts';
import type { PortSpec } from '../model/service-spec.ts';
import { bindsHostPort } from '../model/service-spec.ts';
import type { Constraint } from './constraints.ts';
import { satisfies } from './constraints.ts';
import type { ImagePresence } from './image-locality.ts';
import { imageLocalityScore, normalizeImageReference } from './image-locality.ts';
import type { Demand } from './resources.ts';
import type { VolumePin } from './volume-pinning.ts';

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
  /** What the node's agent supports (protocol/features.ts); undefined: not gated. */
  readonly features?: ReadonlySet<string>;
  /** The images its engine has (normalized reference → bytes); undefined: not reported. */
  readonly images?: ImagePresence | undefined;
}

export interface PlacementRequest {
  readonly taskId: string;
  readonly service: string;
  /** The service's replica count as specified: sets how many replicas one node may hold. */
  readonly desiredReplicas: number;
  readonly demand: Demand;
  readonly ports: readonly PortSpec[];
  readonly constraints: readonly Constraint[];
  readonly strategy: 'binpack' | 'spread';
  /** Nodes where this service's replicas recently failed (node down, drained away). */
  readonly penalizedNodes: ReadonlySet<string>;
  /** Agent features the replica needs (protocol/features.ts). */
  readonly requiredFeatures?: readonly string[];
  /** At most this many of the service's replicas per node (placement.max_replicas_per_node). */
  readonly maxPerNode?: number;
  /** The replica's image, for image locality; undefined: no preference. */
  readonly image?: string;
  /** The one node the replica may run on: where its volume is (volume-pinning.ts). */
  readonly pin?: VolumePin;
}

export type Placement =
  | {
      readonly taskId: string;
      readonly placed: true;
      readonly nodeId: string;
      /** Set when image locality chose this node over the one that would have won without it. */
      readonly locality?: string;
    }
  | { readonly taskId: string; readonly placed: false; readonly reason: string };

/** A node as this call sees it: the snapshot plus what the call has placed there so far. */
interface NodeState {
  readonly base: NodeSnapshot;
  /** Its position in the call's node list (per-request arrays are indexed by it). */
  readonly index: number;
  readonly zone: string | undefined;
  cpu: number;
  memory: number;
  /** The snapshot's own until the first placement here, then `copies`. */
  ports: ReadonlySet<string>;
  counts: ReadonlyMap<string, number>;
  copies: { readonly ports: Set<string>; readonly counts: Map<string, number> } | undefined;
  /** Replicas of every service on the node; -1 until first needed. */
  replicas: number;
  /**
   * The packing fit (`score`) last worked out here, and the demand it was for (NaN: none since
   * the last reservation). Requests of one call mostly share a demand (a service's replicas, a
   * failover's), and the two powers per node and request were most of a failover's placement:
   * 1,000 replicas over 900 nodes, 47% of the down pass's plan.
   */
  fitCpu: number;
  fitMemory: number;
  fit: number;
}

type Checker = (node: NodeState, request: PlacementRequest) => string | null;

/**
 * Per replica beyond a node's allowance of the service (see the module comment): outweighs any
 * packing gain (fit scores span about ±18).
 */
const SAME_NODE_PENALTY = 40;
/** Same-zone anti-affinity outweighs packing too, but less than sharing a node. */
const SAME_ZONE_PENALTY = 20;
const FAILED_HERE_PENALTY = 10;
const TIE_BREAK_PER_REPLICA = 1e-6;
/** A node may hold 1/this of a service's replicas (at least one) before anti-affinity applies. */
const SHARE_PER_NODE_DIVISOR = 10;

export function portKey(port: PortSpec): string {
  return `${port.protocol}/${port.host_port}`;
}

// Order matters only for which reason a node is counted under: status and availability first
// (they explain the most and are cheapest), then constraints, then resources, then ports.
const CHECKERS: readonly Checker[] = [
  // A pinned replica has one node: every other is rejected for the pin's reason.
  (node, request) =>
    request.pin === undefined || request.pin.nodeId === node.base.id ? null : request.pin.reason,
  (node) => (node.base.status === 'ready' ? null : `node ${node.base.status}`),
  (node) => (node.base.schedulable ? null : 'node cordoned'),
  (node, request) => {
    const missing = missingFeature(node.base, request);
    return missing === undefined ? null : `agent lacks feature ${missing} (upgrade its agent)`;
  },
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
  (node, request) =>
    underMaxPerNode(node, request) ? null : `max replicas per node (${request.maxPerNode}) reached`,
];

function underMaxPerNode(node: NodeState, request: PlacementRequest): boolean {
  return request.maxPerNode === undefined || (node.counts.get(request.service) ?? 0) < request.maxPerNode;
}

/** What `placeOne` works out once per request rather than once per node. */
interface RequestContext {
  readonly request: PlacementRequest;
  /** Keys of the host ports the replica binds. */
  readonly hostPorts: readonly string[];
  /** The service's replicas per zone, this call's placements included. */
  readonly zoneCounts: Map<string, number>;
  /** Replicas of the service a node holds before same-node anti-affinity applies. */
  readonly allowedPerNode: number;
  /** Each node's image-locality bonus for the request's image, by `NodeState.index`; null: none has it. */
  readonly locality: Float64Array | null;
  /** Each node's fit-and-score for requests of this one's kind (`ScoreCache`). */
  readonly cache: ScoreCache;
}

/**
 * What `fits` and `score` said of each node for the last requests of one kind (`sameKind`: the
 * same service, strategy, demand, ports, constraints, features, bounds, penalties and image, no
 * pin), by `NodeState.index`: -Infinity where it does not fit. For the next request of that kind
 * only a node a placement landed on changed (and, in a zoned cluster, the nodes of its zone,
 * whose zone count grew), so only those are worked out again: a failover's 1,000 replicas of 200
 * services over 1,000 nodes were 1,000,000 fits and scores, a third of the down pass's plan.
 */
interface ScoreCache {
  kind: PlacementRequest | undefined;
  kindPorts: readonly string[];
  readonly valid: Uint8Array;
  readonly values: Float64Array;
  /** The nodes of each zone, by index. */
  readonly zones: ReadonlyMap<string, readonly number[]>;
}

/**
 * Places requests in order against one snapshot, reserving as it goes so later requests see
 * earlier placements. Ties break by node id, so the same inputs give the same plan.
 */
export function schedule(nodes: readonly NodeSnapshot[], requests: readonly PlacementRequest[]): Placement[] {
  const state: NodeState[] = inIdOrder(nodes).map((base, index) => ({
    base,
    index,
    zone: base.labels.zone,
    cpu: base.allocatedCpuMillicores,
    memory: base.allocatedMemoryBytes,
    ports: base.usedHostPorts,
    counts: base.serviceCounts,
    copies: undefined,
    replicas: -1,
    fitCpu: Number.NaN,
    fitMemory: Number.NaN,
    fit: 0,
  }));
  const zoned = state.some((n) => n.zone !== undefined);
  const zoneCountsByService = new Map<string, Map<string, number>>();
  // Counted once per image per call: images appear on a node only when its agent reports a pull.
  // Each image's bonuses, worked out once per call (an array read per node beats a map lookup
  // per node and request: at 1,000 nodes the lookups cost more than the rest of the scoring).
  const localityByImage = new Map<string, Float64Array | null>();
  const localityOf = (image: string | undefined): Float64Array | null => {
    if (image === undefined) return null;
    let bonuses = localityByImage.get(image);
    if (bonuses === undefined) {
      bonuses = imageBonuses(state, image);
      localityByImage.set(image, bonuses);
    }
    return bonuses;
  };
  // A request that fits nowhere is explained by looking at every node. Until something is
  // placed, nothing changes: another request of the same shape fails the same way, for the same
  // reason (a cluster that is full or away: thousands of pending replicas times 1,000 nodes, every pass).
  let placed = 0;
  const unplaceable = new Map<string, { readonly placed: number; readonly reason: string }>();
  const zones = new Map<string, number[]>();
  for (const node of state) {
    if (node.zone === undefined) continue;
    const list = zones.get(node.zone);
    if (list) list.push(node.index);
    else zones.set(node.zone, [node.index]);
  }
  const cache: ScoreCache = {
    kind: undefined,
    kindPorts: [],
    valid: new Uint8Array(state.length),
    values: new Float64Array(state.length),
    zones,
  };
  return requests.map((request) => {
    let zoneCounts = zoneCountsByService.get(request.service);
    if (!zoneCounts) {
      zoneCounts = zoned ? countByZone(state, request.service) : new Map();
      zoneCountsByService.set(request.service, zoneCounts);
    }
    const hostPorts = request.ports.filter(bindsHostPort).map(portKey);
    const shape = shapeOf(request, hostPorts);
    const known = unplaceable.get(shape);
    if (known?.placed === placed) return { taskId: request.taskId, placed: false, reason: known.reason };
    if (!(cache.kind && sameKind(cache.kind, cache.kindPorts, request, hostPorts))) {
      cache.valid.fill(0);
      cache.kind = request.pin === undefined ? request : undefined;
      cache.kindPorts = hostPorts;
    }
    const placement = placeOne(state, {
      request,
      hostPorts,
      zoneCounts,
      allowedPerNode: Math.max(1, Math.floor(request.desiredReplicas / SHARE_PER_NODE_DIVISOR)),
      locality: localityOf(request.image),
      cache,
    });
    if (placement.placed) placed++;
    else unplaceable.set(shape, { placed, reason: placement.reason });
    return placement;
  });
}

/** What decides whether a request fits a node, and why not (`fits`, `CHECKERS`): not its score. */
function shapeOf(request: PlacementRequest, hostPorts: readonly string[]): string {
  return JSON.stringify([
    request.service,
    request.demand.cpuMillicores,
    request.demand.memoryBytes,
    hostPorts,
    request.constraints.map((c) => c.text),
    request.requiredFeatures ?? null,
    request.maxPerNode ?? null,
  ]);
}

/** Whether `fits` and `score` read the same of `b` as of `a` (`ScoreCache`); a pinned request never is. */
function sameKind(
  a: PlacementRequest,
  aPorts: readonly string[],
  b: PlacementRequest,
  bPorts: readonly string[],
): boolean {
  if (a === b) return true;
  if (b.pin !== undefined || a.pin !== undefined) return false;
  if (
    a.service !== b.service ||
    a.strategy !== b.strategy ||
    a.desiredReplicas !== b.desiredReplicas ||
    a.demand.cpuMillicores !== b.demand.cpuMillicores ||
    a.demand.memoryBytes !== b.demand.memoryBytes ||
    a.maxPerNode !== b.maxPerNode ||
    a.image !== b.image
  )
    return false;
  if (!sameList(aPorts, bPorts) || !sameList(a.requiredFeatures ?? [], b.requiredFeatures ?? []))
    return false;
  if ((a.requiredFeatures === undefined) !== (b.requiredFeatures === undefined)) return false;
  if (a.constraints.length !== b.constraints.length) return false;
  for (let i = 0; i < a.constraints.length; i++)
    if (a.constraints[i]?.text !== b.constraints[i]?.text) return false;
  if (a.penalizedNodes !== b.penalizedNodes) {
    if (a.penalizedNodes.size !== b.penalizedNodes.size) return false;
    for (const id of a.penalizedNodes) if (!b.penalizedNodes.has(id)) return false;
  }
  return true;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Snapshots usually come in id order already: checking costs a fraction of sorting. */
function inIdOrder(nodes: readonly NodeSnapshot[]): readonly NodeSnapshot[] {
  for (let i = 1; i < nodes.length; i++) {
    const previous = nodes[i - 1];
    const node = nodes[i];
    if (previous && node && !(previous.id < node.id))
      return [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  return nodes;
}

function placeOne(state: readonly NodeState[], context: RequestContext): Placement {
  const { request } = context;
  let best: NodeState | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  // The winner without locality, to tell when locality made the choice (the placement says so).
  let plain: NodeState | undefined;
  let plainScore = Number.NEGATIVE_INFINITY;
  const bonuses = context.locality;
  const { valid, values } = context.cache;
  for (const node of state) {
    let value: number;
    if (valid[node.index] === 1) value = values[node.index] ?? Number.NEGATIVE_INFINITY;
    else {
      value = fits(node, context) ? score(node, context) : Number.NEGATIVE_INFINITY;
      values[node.index] = value;
      valid[node.index] = 1;
    }
    if (value === Number.NEGATIVE_INFINITY) continue;
    if (bonuses !== null) {
      const bonus = bonuses[node.index] ?? 0;
      if (value > plainScore) {
        plain = node;
        plainScore = value;
      }
      if (value + bonus > bestScore) {
        best = node;
        bestScore = value + bonus;
      }
    } else if (value > bestScore) {
      best = node;
      bestScore = value;
    }
  }
  if (!best) return { taskId: request.taskId, placed: false, reason: explain(state, request) };
  reserve(best, context);
  // What changed with it: the node, and its zone's count of the service.
  valid[best.index] = 0;
  if (best.zone !== undefined) for (const i of context.cache.zones.get(best.zone) ?? []) valid[i] = 0;
  if (plain !== undefined && plain !== best && request.image !== undefined)
    return {
      taskId: request.taskId,
      placed: true,
      nodeId: best.base.id,
      locality: `image ${request.image} is already on ${best.base.id}`,
    };
  return { taskId: request.taskId, placed: true, nodeId: best.base.id };
}

/**
 * True when every checker in `CHECKERS` passes, without building their reasons. Same tests in a
 * cheaper order (`!(a <= b)` as in the checkers, not `a > b`, so that even NaN agrees).
 */
function fits(node: NodeState, { request, hostPorts }: RequestContext): boolean {
  const base = node.base;
  if (request.pin !== undefined && request.pin.nodeId !== base.id) return false;
  if (base.status !== 'ready' || !base.schedulable) return false;
  if (missingFeature(base, request) !== undefined) return false;
  if (!(node.cpu + request.demand.cpuMillicores <= base.cpuMillicores)) return false;
  if (!(node.memory + request.demand.memoryBytes <= base.memoryBytes)) return false;
  for (const constraint of request.constraints) if (!satisfies(base, constraint)) return false;
  for (const key of hostPorts) if (node.ports.has(key)) return false;
  return underMaxPerNode(node, request);
}

/** Higher is better. Binpack favours fuller nodes (Nomad's 20 − (10^freeCpu + 10^freeMem)). */
function score(node: NodeState, { request, zoneCounts, allowedPerNode }: RequestContext): number {
  const fit = fitOf(node, request.demand.cpuMillicores, request.demand.memoryBytes);
  let value = request.strategy === 'binpack' ? fit : -fit;
  // Once a node holds its allowance of the service, each further replica there is penalized.
  const here = node.counts.get(request.service) ?? 0;
  value -= Math.max(0, here + 1 - allowedPerNode) * SAME_NODE_PENALTY;
  if (node.zone !== undefined) value -= (zoneCounts.get(node.zone) ?? 0) * SAME_ZONE_PENALTY;
  if (request.penalizedNodes.has(node.base.id)) value -= FAILED_HERE_PENALTY;
  // Among otherwise equal nodes (no resource requests), the one with fewer replicas in all wins:
  // small enough never to outweigh a real packing difference.
  return value - replicasOn(node) * TIE_BREAK_PER_REPLICA;
}

/** Every node's image-locality bonus for `image` (image-locality.ts), or null when no node has it. */
function imageBonuses(state: readonly NodeState[], image: string): Float64Array | null {
  const key = normalizeImageReference(image);
  let having = 0;
  for (const node of state) if (node.base.images?.has(key)) having += 1;
  if (having === 0) return null;
  const bonuses = new Float64Array(state.length);
  let any = false;
  for (const node of state) {
    const size = node.base.images?.get(key);
    if (size === undefined) continue;
    const bonus = imageLocalityScore(size, having, state.length);
    bonuses[node.index] = bonus;
    if (bonus > 0) any = true;
  }
  return any ? bonuses : null;
}

function replicasOn(node: NodeState): number {
  if (node.replicas < 0) {
    node.replicas = 0;
    for (const n of node.counts.values()) node.replicas += n;
  }
  return node.replicas;
}

/** Nomad's fit of a replica of this demand on the node as it is now (cached: `NodeState.fit`). */
function fitOf(node: NodeState, cpuDemand: number, memoryDemand: number): number {
  if (node.fitCpu === cpuDemand && node.fitMemory === memoryDemand) return node.fit;
  const cpuTotal = Math.max(node.base.cpuMillicores, 1);
  const memTotal = Math.max(node.base.memoryBytes, 1);
  const freeCpu = 1 - (node.cpu + cpuDemand) / cpuTotal;
  const freeMem = 1 - (node.memory + memoryDemand) / memTotal;
  node.fit = 20 - (10 ** freeCpu + 10 ** freeMem);
  node.fitCpu = cpuDemand;
  node.fitMemory = memoryDemand;
  return node.fit;
}

function reserve(node: NodeState, { request, hostPorts, zoneCounts }: RequestContext): void {
  // Its room changed: the fit is worked out again.
  node.fitCpu = Number.NaN;
  let copies = node.copies;
  if (!copies) {
    copies = { ports: new Set(node.ports), counts: new Map(node.counts) };
    node.copies = copies;
    node.ports = copies.ports;
    node.counts = copies.counts;
  }
  node.cpu += request.demand.cpuMillicores;
  node.memory += request.demand.memoryBytes;
  for (const key of hostPorts) copies.ports.add(key);
  copies.counts.set(request.service, (copies.counts.get(request.service) ?? 0) + 1);
  node.replicas = replicasOn(node) + 1;
  if (node.zone !== undefined) zoneCounts.set(node.zone, (zoneCounts.get(node.zone) ?? 0) + 1);
}

function countByZone(state: readonly NodeState[], service: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of state) {
    const n = node.counts.get(service);
    if (n && node.zone !== undefined) counts.set(node.zone, (counts.get(node.zone) ?? 0) + n);
  }
  return counts;
}

/** The first feature the request needs that the node's agent lacks. */
function missingFeature(node: NodeSnapshot, request: PlacementRequest): string | undefined {
  const features = node.features;
  if (features === undefined || request.requiredFeatures === undefined) return undefined;
  return request.requiredFeatures.find((feature) => !features.has(feature));
}

/** Why nothing fits: every node counted under the first checker it fails. */
function explain(state: readonly NodeState[], request: PlacementRequest): string {
  if (request.pin) return explainPin(state, request, request.pin);
  if (state.length === 0) return 'no nodes have joined the cluster';
  const reasons = new Map<string, number>();
  for (const node of state) {
    const rejection = firstRejection(node, request);
    if (rejection !== null) reasons.set(rejection, (reasons.get(rejection) ?? 0) + 1);
  }
  const parts = [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `${n} ${reason}`);
  return `0/${state.length} nodes available: ${parts.join(', ')}`;
}

/**
 * A pinned replica waits for its node: the reason is the pin's and what its node lacks, and how
 * to start it elsewhere (empty) instead.
 */
function explainPin(state: readonly NodeState[], request: PlacementRequest, pin: VolumePin): string {
  const move = `skiff volume move ${pin.volume} --to NODE starts it elsewhere, empty`;
  const node = state.find((n) => n.base.id === pin.nodeId);
  if (!node) return `${pin.reason}, which is not in the cluster (${move})`;
  const rejection = firstRejection(node, request) ?? 'unavailable';
  return `${pin.reason} (${rejection}; ${move})`;
}

function firstRejection(node: NodeState, request: PlacementRequest): string | null {
  for (const check of CHECKERS) {
    const reason = check(node, request);
    if (reason !== null) return reason;
  }
  return null;
}
