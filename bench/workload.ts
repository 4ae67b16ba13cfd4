/**
 * Shared by `bench/schedule.ts` and `bench/pack.ts`: a seeded random source, the request shapes
 * of a mixed workload (small web, medium api, memory-heavy cache, cpu-heavy worker), a generator
 * of services with a given total of replicas, node snapshots, and feeding a placement back into
 * a snapshot the way the controller's next snapshot would show it. Everything is deterministic
 * for a given seed. (Their statistics, table and option checks are the harness's, in harness/.)
 */

import { bindsHostPort } from '../src/model/service-spec.ts';
import type { Demand } from '../src/scheduler/resources.ts';
import type { NodeSnapshot, PlacementRequest } from '../src/scheduler/scheduler.ts';
import { portKey } from '../src/scheduler/scheduler.ts';

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

// The simulator's seeded randomness (mulberry32), under the names the benches use.
export type { Random as Rng } from '../src/sim/random.ts';
export { intBetween, seededRandom as seededRng } from '../src/sim/random.ts';

import type { Random as Rng } from '../src/sim/random.ts';

export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

export function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, w]) => sum + w, 0);
  let x = rng() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  const last = items.at(-1);
  if (!last) throw new RangeError('weighted pick from an empty list');
  return last[0];
}

export type Kind = 'web' | 'api' | 'cache' | 'worker';

/** Round-number shapes as people write them in specs: cpus 0.1–2, memory_mb 128–8192. */
export const SHAPES: Readonly<Record<Kind, readonly Demand[]>> = {
  web: [
    { cpuMillicores: 100, memoryBytes: 128 * MiB },
    { cpuMillicores: 250, memoryBytes: 256 * MiB },
    { cpuMillicores: 500, memoryBytes: 512 * MiB },
  ],
  api: [
    { cpuMillicores: 500, memoryBytes: 1 * GiB },
    { cpuMillicores: 1000, memoryBytes: 1 * GiB },
    { cpuMillicores: 1000, memoryBytes: 2 * GiB },
  ],
  cache: [
    { cpuMillicores: 250, memoryBytes: 2 * GiB },
    { cpuMillicores: 500, memoryBytes: 4 * GiB },
    { cpuMillicores: 1000, memoryBytes: 8 * GiB },
  ],
  worker: [
    { cpuMillicores: 1500, memoryBytes: 512 * MiB },
    { cpuMillicores: 2000, memoryBytes: 1 * GiB },
    { cpuMillicores: 2000, memoryBytes: 2 * GiB },
  ],
};

const KIND_WEIGHTS: readonly (readonly [Kind, number])[] = [
  ['web', 4],
  ['api', 2],
  ['cache', 2],
  ['worker', 2],
];

/** A service of the workload: what the scheduler is asked for each of its replicas, plus its shape. */
export interface ServiceDef
  extends Pick<PlacementRequest, 'demand' | 'ports' | 'constraints' | 'strategy' | 'penalizedNodes'> {
  readonly name: string;
  readonly kind: Kind;
  readonly replicas: number;
}

/**
 * `count` services of mixed kinds whose replicas add up to `totalReplicas` (at least 2 each,
 * heavy-tailed: a few big services, many small ones). No ports, no constraints, binpack.
 */
export function makeServices(rng: Rng, count: number, totalReplicas: number): ServiceDef[] {
  if (totalReplicas < 2 * count) throw new RangeError('need at least 2 replicas per service');
  const weights = Array.from({ length: count }, () => 1 + 9 * rng() ** 2);
  const sum = weights.reduce((a, b) => a + b, 0);
  const replicas = weights.map((w) => Math.max(2, Math.round((totalReplicas * w) / sum)));
  // Round to the exact total: take from (or give to) the largest services.
  let diff = totalReplicas - replicas.reduce((a, b) => a + b, 0);
  while (diff !== 0) {
    const order = replicas.map((n, i) => [n, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [n, i] of order) {
      if (diff === 0) break;
      if (diff < 0 && n <= 2) continue;
      replicas[i] = n + Math.sign(diff);
      diff -= Math.sign(diff);
    }
  }
  return replicas.map((n, i) => {
    const kind = weighted(rng, KIND_WEIGHTS);
    return {
      name: `${kind}-${String(i).padStart(2, '0')}`,
      kind,
      demand: pick(rng, SHAPES[kind]),
      replicas: n,
      ports: [],
      constraints: [],
      strategy: 'binpack',
      penalizedNodes: new Set<string>(),
    };
  });
}

export function requestOf(service: ServiceDef, slot: number): PlacementRequest {
  return {
    taskId: `${service.name}.${slot}`,
    service: service.name,
    desiredReplicas: service.replicas,
    demand: service.demand,
    ports: service.ports,
    constraints: service.constraints,
    strategy: service.strategy,
    penalizedNodes: service.penalizedNodes,
  };
}

/** Every replica of every service, service by service, as the controller lists new tasks. */
export function requestsOf(services: readonly ServiceDef[]): PlacementRequest[] {
  return services.flatMap((s) => Array.from({ length: s.replicas }, (_, slot) => requestOf(s, slot + 1)));
}

export function nodeSnapshot(
  id: string,
  cpuMillicores: number,
  memoryBytes: number,
  overrides: Partial<NodeSnapshot> = {},
): NodeSnapshot {
  return {
    id,
    status: 'ready',
    schedulable: true,
    labels: {},
    cpuMillicores,
    memoryBytes,
    allocatedCpuMillicores: 0,
    allocatedMemoryBytes: 0,
    usedHostPorts: new Set<string>(),
    serviceCounts: new Map<string, number>(),
    ...overrides,
  };
}

/** The node as the next snapshot shows it once `request` runs there. */
export function withPlacement(node: NodeSnapshot, request: PlacementRequest): NodeSnapshot {
  const ports = new Set(node.usedHostPorts);
  for (const port of request.ports) if (bindsHostPort(port)) ports.add(portKey(port));
  const counts = new Map(node.serviceCounts);
  counts.set(request.service, (counts.get(request.service) ?? 0) + 1);
  return {
    ...node,
    allocatedCpuMillicores: node.allocatedCpuMillicores + request.demand.cpuMillicores,
    allocatedMemoryBytes: node.allocatedMemoryBytes + request.demand.memoryBytes,
    usedHostPorts: ports,
    serviceCounts: counts,
  };
}
