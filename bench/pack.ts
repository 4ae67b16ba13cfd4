/**
 * `npm run bench:pack`: how tightly each placement strategy packs a mixed workload. Identical
 * nodes (8 cores, 32 GiB) in ample supply (200); a seeded workload of 20 services, 400 replicas,
 * in a few realistic shapes (small web, medium api, memory-heavy cache, cpu-heavy worker; cpu
 * 0.1–2 cores, memory 128 MiB–8 GiB), deployed service by service. Each strategy places all of it:
 *  - binpack: Skiff's scheduler as is, with its same-node anti-affinity between replicas of a
 *    service (a penalty that outweighs any packing gain);
 *  - binpack, replicas as own services: the same scheduler with every replica given its own
 *    service name, so no anti-affinity: pure bin packing, to show what spreading replicas costs;
 *  - spread: Skiff's scheduler with strategy spread;
 *  - random: the baseline, a seeded uniform choice among the nodes where the replica fits.
 *
 * Per strategy: nodes needed (nodes with at least one replica), utilisation (demand / capacity of
 * the used nodes, cpu and memory separately), stranded capacity (free cpu and memory on used
 * nodes where no request shape of the workload fits any more, e.g. memory left on a node whose cpu
 * is gone), against the lower bound max(ceil(total cpu / node cpu), ceil(total memory / node
 * memory)). Target: binpack within 10% of the lower bound and at least 25% fewer nodes than spread.
 * Note that spread and random use about as many nodes as there are, so their "nodes needed" says
 * more about the supply than about them. A last row, first-fit decreasing with all replicas known
 * up front, is not a Skiff strategy: it shows how close to the lower bound one can get at all.
 *
 * Options: --seed N (1), --nodes N (200), --services N (20), --replicas N (400),
 * --node-cpus N (8), --node-memory-gib N (32). Deterministic for a given seed.
 */
import { parseArgs } from 'node:util';
import type { Demand } from '../src/scheduler/resources.ts';
import type { NodeSnapshot, PlacementRequest } from '../src/scheduler/scheduler.ts';
import { schedule } from '../src/scheduler/scheduler.ts';
import { integerOption } from './harness/options.ts';
import { grouped, pct, table } from './harness/report.ts';
import type { Kind, Rng, ServiceDef } from './workload.ts';
import { GiB, makeServices, nodeSnapshot, requestsOf, seededRng, withPlacement } from './workload.ts';

const WITHIN_LOWER_BOUND = 1.1;
const FEWER_THAN_SPREAD = 0.25;

interface Options {
  readonly seed: number;
  readonly nodes: number;
  readonly services: number;
  readonly replicas: number;
  readonly nodeCpu: number;
  readonly nodeMemory: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' },
      nodes: { type: 'string', default: '200' },
      services: { type: 'string', default: '20' },
      replicas: { type: 'string', default: '400' },
      'node-cpus': { type: 'string', default: '8' },
      'node-memory-gib': { type: 'string', default: '32' },
    },
    strict: true,
  });
  const services = integerOption('services', values.services, 1, 1000);
  return {
    seed: integerOption('seed', values.seed, 0, 2 ** 32 - 1),
    nodes: integerOption('nodes', values.nodes, 1, 100_000),
    services,
    replicas: integerOption('replicas', values.replicas, 2 * services, 1_000_000),
    nodeCpu: integerOption('node-cpus', values['node-cpus'], 2, 1024) * 1000,
    nodeMemory: integerOption('node-memory-gib', values['node-memory-gib'], 8, 16_384) * GiB,
  };
}

interface Outcome {
  readonly name: string;
  readonly nodes: readonly NodeSnapshot[];
  readonly unplaced: number;
}

function emptyCluster(options: Options): NodeSnapshot[] {
  return Array.from({ length: options.nodes }, (_, i) =>
    nodeSnapshot(`node-${String(i).padStart(4, '0')}`, options.nodeCpu, options.nodeMemory),
  );
}

/** Skiff's scheduler, one plan for the whole workload (deploy by deploy gives the same result). */
function withScheduler(
  name: string,
  cluster: NodeSnapshot[],
  requests: readonly PlacementRequest[],
): Outcome {
  const nodes = [...cluster];
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const byTask = new Map(requests.map((r) => [r.taskId, r]));
  let unplaced = 0;
  for (const placement of schedule(nodes, requests)) {
    if (!placement.placed) {
      unplaced++;
      continue;
    }
    const i = index.get(placement.nodeId);
    const node = i === undefined ? undefined : nodes[i];
    const request = byTask.get(placement.taskId);
    if (i === undefined || !node || !request) throw new Error(`unexpected placement ${placement.taskId}`);
    nodes[i] = withPlacement(node, request);
  }
  return { name, nodes, unplaced };
}

function fits(node: NodeSnapshot, demand: Demand): boolean {
  return (
    node.allocatedCpuMillicores + demand.cpuMillicores <= node.cpuMillicores &&
    node.allocatedMemoryBytes + demand.memoryBytes <= node.memoryBytes
  );
}

/** The baseline: a uniform choice among the nodes where the replica fits. */
function randomly(rng: Rng, cluster: NodeSnapshot[], requests: readonly PlacementRequest[]): Outcome {
  const nodes = [...cluster];
  let unplaced = 0;
  for (const request of requests) {
    const feasible: number[] = [];
    nodes.forEach((node, i) => {
      if (node.status === 'ready' && node.schedulable && fits(node, request.demand)) feasible.push(i);
    });
    const i = feasible[Math.floor(rng() * feasible.length)];
    const node = i === undefined ? undefined : nodes[i];
    if (i === undefined || !node) {
      unplaced++;
      continue;
    }
    nodes[i] = withPlacement(node, request);
  }
  return { name: 'random (uniform among feasible)', nodes, unplaced };
}

/**
 * Not a strategy Skiff has: an offline reference for how close the lower bound is reachable.
 * All replicas known up front, largest dominant share first, each on the first node it fits.
 */
function firstFitDecreasing(
  cluster: NodeSnapshot[],
  requests: readonly PlacementRequest[],
  options: Options,
): Outcome {
  const share = (d: Demand) =>
    Math.max(d.cpuMillicores / options.nodeCpu, d.memoryBytes / options.nodeMemory);
  const sorted = [...requests].sort((a, b) => share(b.demand) - share(a.demand));
  const nodes = [...cluster];
  let unplaced = 0;
  for (const request of sorted) {
    const i = nodes.findIndex((node) => fits(node, request.demand));
    const node = nodes[i];
    if (!node) {
      unplaced++;
      continue;
    }
    nodes[i] = withPlacement(node, { ...request, service: request.taskId });
  }
  return { name: 'first-fit decreasing (offline reference)', nodes, unplaced };
}

interface Metrics {
  readonly used: number;
  readonly cpuUtil: number;
  readonly memUtil: number;
  readonly strandedNodes: number;
  readonly strandedCpu: number;
  readonly strandedMem: number;
  readonly freeCpu: number;
  readonly freeMem: number;
}

function metricsOf(outcome: Outcome, shapes: readonly Demand[]): Metrics {
  let used = 0;
  let cpuDemand = 0;
  let memDemand = 0;
  let cpuCapacity = 0;
  let memCapacity = 0;
  let strandedNodes = 0;
  let strandedCpu = 0;
  let strandedMem = 0;
  for (const node of outcome.nodes) {
    if (node.serviceCounts.size === 0) continue;
    used++;
    cpuDemand += node.allocatedCpuMillicores;
    memDemand += node.allocatedMemoryBytes;
    cpuCapacity += node.cpuMillicores;
    memCapacity += node.memoryBytes;
    if (!shapes.some((shape) => fits(node, shape))) {
      strandedNodes++;
      strandedCpu += node.cpuMillicores - node.allocatedCpuMillicores;
      strandedMem += node.memoryBytes - node.allocatedMemoryBytes;
    }
  }
  return {
    used,
    cpuUtil: cpuDemand / cpuCapacity,
    memUtil: memDemand / memCapacity,
    strandedNodes,
    strandedCpu,
    strandedMem,
    freeCpu: cpuCapacity - cpuDemand,
    freeMem: memCapacity - memDemand,
  };
}

function describeWorkload(services: readonly ServiceDef[]): string {
  const byKind = new Map<Kind, { services: number; replicas: number }>();
  for (const s of services) {
    const k = byKind.get(s.kind) ?? { services: 0, replicas: 0 };
    byKind.set(s.kind, { services: k.services + 1, replicas: k.replicas + s.replicas });
  }
  return [...byKind.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([kind, k]) => `${kind} ${k.services} services/${k.replicas} replicas`)
    .join(', ');
}

function cores(millicores: number): string {
  return (millicores / 1000).toFixed(1);
}

function gib(bytes: number): string {
  return (bytes / GiB).toFixed(1);
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const rng = seededRng(options.seed);
  const services = makeServices(rng, options.services, options.replicas);
  const requests = requestsOf(services);
  const shapes = [
    ...new Map(services.map((s) => [`${s.demand.cpuMillicores}/${s.demand.memoryBytes}`, s.demand])).values(),
  ];
  const totalCpu = requests.reduce((sum, r) => sum + r.demand.cpuMillicores, 0);
  const totalMem = requests.reduce((sum, r) => sum + r.demand.memoryBytes, 0);
  const cpuBound = Math.ceil(totalCpu / options.nodeCpu);
  const memBound = Math.ceil(totalMem / options.nodeMemory);
  const lowerBound = Math.max(cpuBound, memBound);

  console.log(`bench:pack  seed ${options.seed}  node ${process.version}`);
  console.log(
    `cluster: ${options.nodes} identical nodes of ${cores(options.nodeCpu)} cores, ${gib(options.nodeMemory)} GiB, no labels`,
  );
  console.log(
    `workload: ${services.length} services, ${requests.length} replicas (${describeWorkload(services)}), ` +
      `${shapes.length} distinct shapes`,
  );
  const largest = services.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  console.log(
    `largest service: ${largest.name} with ${largest.replicas} replicas (anti-affinity allows ` +
      `${Math.max(1, Math.floor(largest.replicas / 10))} per node before it penalises)`,
  );
  console.log(
    `demand: ${cores(totalCpu)} cores, ${gib(totalMem)} GiB → lower bound max(${cpuBound} by cpu, ${memBound} by memory) = ${lowerBound} nodes`,
  );

  const binpack = withScheduler(
    'binpack (per-service anti-affinity)',
    emptyCluster(options),
    requests.map((r) => ({ ...r, strategy: 'binpack' })),
  );
  const solo = withScheduler(
    'binpack (replicas as own services)',
    emptyCluster(options),
    requests.map((r) => ({ ...r, service: r.taskId, strategy: 'binpack' })),
  );
  const spread = withScheduler(
    'spread',
    emptyCluster(options),
    requests.map((r) => ({ ...r, strategy: 'spread' })),
  );
  const random = randomly(seededRng(options.seed ^ 0x9e3779b9), emptyCluster(options), requests);

  const ffd = firstFitDecreasing(emptyCluster(options), requests, options);

  const outcomes = [binpack, solo, spread, random, ffd];
  const metrics = new Map(outcomes.map((o) => [o, metricsOf(o, shapes)]));
  const rows = outcomes.map((o) => {
    const m = metrics.get(o);
    if (!m) throw new Error('no metrics');
    return [
      o.name,
      grouped(requests.length - o.unplaced),
      grouped(m.used),
      `${(m.used / lowerBound).toFixed(2)}×`,
      pct(m.cpuUtil),
      pct(m.memUtil),
      `${cores(m.freeCpu)} / ${gib(m.freeMem)}`,
      `${m.strandedNodes}`,
      `${cores(m.strandedCpu)} / ${gib(m.strandedMem)}`,
    ];
  });
  console.log();
  console.log(
    table(
      [
        'strategy',
        'placed',
        'nodes needed',
        'vs lower bound',
        'cpu util',
        'mem util',
        'free on used: cores / GiB',
        'stranded nodes',
        'stranded: cores / GiB',
      ],
      [...rows, ['lower bound', '', grouped(lowerBound), '1.00×', '', '', '', '', '']],
      { rule: true },
    ),
  );
  console.log();
  console.log(
    `stranded = free capacity on used nodes where none of the ${shapes.length} shapes fits any more; ` +
      'utilisation = demand / capacity of used nodes',
  );
  console.log();
  const spreadUsed = metrics.get(spread)?.used ?? 0;
  for (const o of [binpack, solo]) {
    const used = metrics.get(o)?.used ?? 0;
    const withinBound = used <= lowerBound * WITHIN_LOWER_BOUND;
    const fewer = 1 - used / spreadUsed;
    console.log(`${o.name}:`);
    console.log(
      `  within 10% of the lower bound (≤ ${(lowerBound * WITHIN_LOWER_BOUND).toFixed(1)} nodes): ` +
        `${used} nodes, ${pct(used / lowerBound - 1)} over  ${withinBound ? 'MET' : 'MISSED'}`,
    );
    console.log(
      `  ≥ 25% fewer nodes than spread (${spreadUsed}): ${pct(fewer)} fewer  ${fewer >= FEWER_THAN_SPREAD ? 'MET' : 'MISSED'}`,
    );
  }
  if (outcomes.some((o) => o.unplaced > 0))
    console.log('NOTE: some replicas did not fit at all; raise --nodes for a fair comparison');
}

main();
