/**
 * `npm run bench:schedule`: how fast the scheduler decides, at 10, 100, 1,000 and 5,000 nodes, on
 * one core (it is single-threaded JS). Target: at least 5,000 placements/s at 1,000 nodes (Nomad's
 * published record is 3,750/s on 5 servers; Kubernetes' scheduler CI floor is 680–810 pods/s at
 * 5,000 nodes).
 *
 * The cluster is mixed: 2–16 cores and 4–64 GiB, a zone label (3 zones) and a disk label, a few
 * nodes unreachable or cordoned, about half already running replicas (10–60% of their cpu). The
 * requests come from 20 services of mixed shapes, deployed a few replicas at a time; some bind a
 * fixed host port (`mode: 'host'`: one replica per node), some have constraints, some use spread,
 * some have nodes where they just failed.
 *
 * Two figures per size, on the same cluster and the same requests:
 *  - single: one `schedule(nodes, [request])` call per decision, timed with
 *    `process.hrtime.bigint()`; each placement is fed back into the node snapshots before the next
 *    call (as the controller's next snapshot would show it). Gives p50/p99 per decision.
 *  - batch: one `schedule(nodes, requests)` call for all of them (as the controller does per
 *    tick), total time divided by the number of decisions. Same inputs, so it must produce the
 *    same placements as the single calls; the bench checks it.
 * A decision that places nothing still counts (it scanned every node all the same); the table
 * shows how many placed. A last column times `schedule(nodes, [])`, which only builds the
 * per-call state (sort, copy of every node's sets and maps): the part of a single-request decision
 * that does not depend on the request.
 *
 * Options: --seed N (1), --sizes 10,100,1000,5000, --decisions N (2000: per size; at most 4 per
 * node per round, more rounds on fresh clusters until there are N samples), --batch-repeats N (3).
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { bindsHostPort } from '../src/model/service-spec.ts';
import { parseConstraint } from '../src/scheduler/constraints.ts';
import type { NodeSnapshot, Placement, PlacementRequest } from '../src/scheduler/scheduler.ts';
import { portKey, schedule } from '../src/scheduler/scheduler.ts';
import { integerOption } from './harness/options.ts';
import { grouped, table } from './harness/report.ts';
import { nearestRankMedian, percentile } from './harness/stats.ts';
import type { Rng, ServiceDef } from './workload.ts';
import {
  GiB,
  intBetween,
  makeServices,
  nodeSnapshot,
  pick,
  requestOf,
  seededRng,
  weighted,
  withPlacement,
} from './workload.ts';

const TARGET_NODES = 1000;
const TARGET_PER_SECOND = 5000;
const SERVICES = 20;
const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;
/** [cores, GiB], weight. */
const NODE_TYPES: readonly (readonly [readonly [number, number], number])[] = [
  [[2, 4], 1],
  [[2, 8], 1],
  [[4, 8], 2],
  [[4, 16], 2],
  [[8, 16], 2],
  [[8, 32], 3],
  [[16, 32], 2],
  [[16, 64], 2],
];

interface Options {
  readonly seed: number;
  readonly sizes: readonly number[];
  readonly decisions: number;
  readonly batchRepeats: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string', default: '1' },
      sizes: { type: 'string', default: '10,100,1000,5000' },
      decisions: { type: 'string', default: '2000' },
      'batch-repeats': { type: 'string', default: '3' },
    },
    strict: true,
  });
  return {
    seed: integerOption('seed', values.seed, 0, 2 ** 32 - 1),
    sizes: values.sizes.split(',').map((s) => integerOption('sizes', s.trim(), 1, 100_000)),
    decisions: integerOption('decisions', values.decisions, 1, 1_000_000),
    batchRepeats: integerOption('batch-repeats', values['batch-repeats'], 1, 100),
  };
}

function nodeId(i: number): string {
  return `node-${String(i).padStart(5, '0')}`;
}

/** The 20 services, dressed up: host ports, constraints, spread, recent failures. */
function makeWorkload(rng: Rng, nodes: number): ServiceDef[] {
  return makeServices(rng, SERVICES, 400).map((s, i) => {
    const ports =
      i % 5 === 0
        ? [
            {
              container_port: 80,
              host_port: 8000 + i,
              protocol: 'tcp' as const,
              mode: 'host' as const,
              app_protocol: 'tcp' as const,
            },
          ]
        : s.ports;
    const constraintTexts =
      [['zone==zone-a'], ['disk==ssd'], ['disk!=hdd', 'zone!=zone-c'], [], [], []][i % 6] ?? [];
    const penalized =
      i % 7 === 3
        ? new Set([nodeId(intBetween(rng, 0, nodes - 1)), nodeId(intBetween(rng, 0, nodes - 1))])
        : null;
    return {
      ...s,
      ports,
      constraints: constraintTexts.map(parseConstraint),
      strategy: i % 8 === 5 ? 'spread' : 'binpack',
      penalizedNodes: penalized ?? s.penalizedNodes,
    };
  });
}

/** Mixed nodes in join order; about half already run replicas of the workload's services. */
function makeCluster(rng: Rng, n: number, services: readonly ServiceDef[]): NodeSnapshot[] {
  return Array.from({ length: n }, (_, i) => {
    const [cores, gib] = weighted(rng, NODE_TYPES);
    const roll = rng();
    let node = nodeSnapshot(nodeId(i), cores * 1000, gib * GiB, {
      status: roll < 0.015 ? 'unreachable' : 'ready',
      schedulable: !(roll >= 0.015 && roll < 0.025),
      labels: { zone: pick(rng, ZONES), disk: rng() < 0.7 ? 'ssd' : 'hdd' },
    });
    if (rng() < 0.5) {
      const target = node.cpuMillicores * (0.1 + 0.5 * rng());
      for (let tries = 0; tries < 50 && node.allocatedCpuMillicores < target; tries++) {
        const s = pick(rng, services);
        const fits =
          node.allocatedCpuMillicores + s.demand.cpuMillicores <= node.cpuMillicores &&
          node.allocatedMemoryBytes + s.demand.memoryBytes <= node.memoryBytes &&
          !s.ports.some((p) => bindsHostPort(p) && node.usedHostPorts.has(portKey(p)));
        if (fits) node = withPlacement(node, requestOf(s, 0));
      }
    }
    return node;
  });
}

/** Deploys of 1–10 replicas of a service (bigger services more often) until `count` requests. */
function makeRequests(rng: Rng, services: readonly ServiceDef[], count: number): PlacementRequest[] {
  const slots = new Map<string, number>();
  const byWeight = services.map((s) => [s, s.replicas] as const);
  const requests: PlacementRequest[] = [];
  while (requests.length < count) {
    const service = weighted(rng, byWeight);
    const k = Math.min(intBetween(rng, 1, Math.min(10, service.replicas)), count - requests.length);
    for (let j = 0; j < k; j++) {
      const slot = (slots.get(service.name) ?? 0) + 1;
      slots.set(service.name, slot);
      requests.push(requestOf(service, slot));
    }
  }
  return requests;
}

interface Round {
  readonly cluster: readonly NodeSnapshot[];
  readonly requests: readonly PlacementRequest[];
}

function makeRound(seed: number, size: number, round: number, decisions: number): Round {
  const rng = seededRng((seed * 1_000_003 + size * 7919 + round) >>> 0);
  const services = makeWorkload(rng, size);
  const cluster = makeCluster(rng, size, services);
  return { cluster, requests: makeRequests(rng, services, decisions) };
}

/** One single-request call per decision, placements fed back. Returns ns per call. */
function runSingle(round: Round, samples: number[] | null): Placement[] {
  const nodes = [...round.cluster];
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const placements: Placement[] = [];
  for (const request of round.requests) {
    const start = process.hrtime.bigint();
    const [placement] = schedule(nodes, [request]);
    const end = process.hrtime.bigint();
    samples?.push(Number(end - start));
    if (!placement) throw new Error('schedule returned nothing');
    placements.push(placement);
    if (placement.placed) {
      const i = index.get(placement.nodeId);
      const node = i === undefined ? undefined : nodes[i];
      if (i === undefined || !node) throw new Error(`placed on unknown node ${placement.nodeId}`);
      nodes[i] = withPlacement(node, request);
    }
  }
  return placements;
}

function runBatch(round: Round): { placements: Placement[]; ns: number } {
  const start = process.hrtime.bigint();
  const placements = schedule(round.cluster, round.requests);
  return { placements, ns: Number(process.hrtime.bigint() - start) };
}

/**
 * `schedule(nodes, [])` places nothing: it only builds the per-call state (sorts the nodes, copies
 * each node's host ports and service counts), so its time is that setup's share of a decision.
 */
function runSetup(round: Round, repeats: number): number[] {
  const ns: number[] = [];
  for (let k = 0; k < repeats; k++) {
    const start = process.hrtime.bigint();
    schedule(round.cluster, []);
    ns.push(Number(process.hrtime.bigint() - start));
  }
  return ns;
}

function samePlan(a: readonly Placement[], b: readonly Placement[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => {
      const q = b[i];
      return (
        q !== undefined &&
        p.taskId === q.taskId &&
        p.placed === q.placed &&
        (p.placed && q.placed ? p.nodeId === q.nodeId : true)
      );
    })
  );
}

interface Result {
  readonly size: number;
  readonly rounds: number;
  readonly decisions: number;
  readonly placed: number;
  readonly singleNs: readonly number[];
  readonly batchNsPerDecision: number;
  readonly setupNs: number;
  readonly consistent: boolean;
}

function measure(options: Options, size: number): Result {
  const perRound = Math.min(options.decisions, size * 4);
  const rounds = Math.ceil(options.decisions / perRound);
  // Warm this size's shapes (Map sizes, array lengths) on a throwaway round.
  const warm = makeRound(options.seed + 1, size, 0, Math.min(perRound, 50));
  runSingle(warm, null);
  runBatch(warm);
  runSetup(warm, 5);

  const singleNs: number[] = [];
  const batchNs: number[] = [];
  const setupNs: number[] = [];
  let decisions = 0;
  let placed = 0;
  let consistent = true;
  for (let r = 0; r < rounds; r++) {
    const round = makeRound(options.seed, size, r, perRound);
    const single = runSingle(round, singleNs);
    const perRepeat: number[] = [];
    for (let k = 0; k < options.batchRepeats; k++) {
      const batch = runBatch(round);
      perRepeat.push(batch.ns);
      consistent &&= samePlan(single, batch.placements);
    }
    batchNs.push(nearestRankMedian(perRepeat));
    setupNs.push(...runSetup(round, Math.max(5, Math.ceil(20_000 / size))));
    decisions += round.requests.length;
    placed += single.filter((p) => p.placed).length;
  }
  return {
    size,
    rounds,
    decisions,
    placed,
    singleNs: singleNs.sort((a, b) => a - b),
    batchNsPerDecision: batchNs.reduce((a, b) => a + b, 0) / decisions,
    setupNs: nearestRankMedian(setupNs),
    consistent,
  };
}

function perSecond(nsPerDecision: number): number {
  return 1e9 / nsPerDecision;
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  console.log(
    `bench:schedule  seed ${options.seed}  node ${process.version}  ${cpus()[0]?.model ?? 'unknown cpu'}  (one thread)`,
  );
  // JIT warm-up: the whole path, single and batch, at a mid size, results discarded.
  for (let k = 0; k < 3; k++) {
    const round = makeRound(options.seed + 2, 200, k, 800);
    runSingle(round, null);
    runBatch(round);
  }

  const results: Result[] = [];
  for (const size of options.sizes) results.push(measure(options, size));

  const rows = results.map((r) => {
    const singleMean = r.singleNs.reduce((a, b) => a + b, 0) / r.singleNs.length;
    return [
      grouped(r.size),
      `${r.rounds}×${grouped(r.decisions / r.rounds)}`,
      grouped(r.placed),
      grouped(perSecond(r.batchNsPerDecision)),
      (r.batchNsPerDecision / 1000).toFixed(1),
      grouped(perSecond(singleMean)),
      (percentile(r.singleNs, 50) / 1000).toFixed(1),
      (percentile(r.singleNs, 99) / 1000).toFixed(1),
      `${(r.setupNs / 1000).toFixed(1)} (${Math.round((100 * r.setupNs) / (percentile(r.singleNs, 50) || 1))}%)`,
      r.consistent ? 'yes' : 'NO',
    ];
  });
  console.log();
  console.log(
    table(
      [
        'nodes',
        'rounds×decisions',
        'placed',
        'batch placements/s',
        'batch µs/decision',
        'single placements/s',
        'single p50 µs',
        'single p99 µs',
        'setup µs (% of p50)',
        'batch = single plan',
      ],
      rows,
      { rule: true },
    ),
  );
  console.log(
    'setup = median time of schedule(nodes, []): checking the node order and wrapping each node ' +
      '(copied only when a placement lands on it), paid once per call',
  );
  console.log();
  const at = results.find((r) => r.size === TARGET_NODES);
  if (!at) {
    console.log(`target: not measured (run with ${grouped(TARGET_NODES)} in --sizes)`);
    return;
  }
  const batch = perSecond(at.batchNsPerDecision);
  const single = perSecond(at.singleNs.reduce((a, b) => a + b, 0) / at.singleNs.length);
  const verdict = (rate: number) => (rate >= TARGET_PER_SECOND ? 'MET' : 'MISSED');
  console.log(`target ≥ ${grouped(TARGET_PER_SECOND)} placements/s at ${grouped(TARGET_NODES)} nodes:`);
  console.log(
    `  batch  (one schedule() call per plan, as the controller does): ${grouped(batch)}/s  ${verdict(batch)}`,
  );
  console.log(
    `  single (one schedule() call per decision):                    ${grouped(single)}/s  ${verdict(single)}`,
  );
  console.log(
    '  reference: Nomad 3,750/s (5 servers); Kubernetes scheduler CI floor 680–810 pods/s at 5,000 nodes',
  );
  if (results.some((r) => !r.consistent))
    console.log('WARNING: batch and single-call plans differ: the feedback into snapshots is wrong');
}

main();
