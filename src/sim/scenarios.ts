/**
 * The cluster simulator's scenarios: a cluster of N nodes with 10 replicas per node (services of
 * 95 replicas, and of 5 with an exec health check every second: 5%), then what happens to it. Each
 * scenario settles the cluster after its faults and fails on any broken invariant; a failure
 * names the command that replays it.
 */
import type { ServiceSpecInput } from '../model/service-spec.ts';
import { ClusterSim } from './cluster-sim.ts';

export interface ScenarioOptions {
  readonly seed: number;
  /** A multiple of 10 (replicas come in blocks of 100). */
  readonly nodes: number;
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly seed: number;
  readonly nodes: number;
  readonly replicas: number;
  readonly passes: number;
  readonly virtualMs: number;
  readonly realMs: number;
  readonly trace: readonly string[];
}

type Scenario = (sim: ClusterSim, options: ScenarioOptions) => Promise<void>;

/** Virtual time a cluster gets to settle after a change. */
const SETTLE_MS = 120_000;
const ROLLOUT_SETTLE_MS = 900_000;

function blockSpecs(block: number, image = 'sim:v1'): ServiceSpecInput[] {
  const common = {
    image,
    resources: { cpus: 0.1, memory_mb: 32 },
    placement: { strategy: 'spread' as const },
    update: { max_surge: 5, min_healthy_time: '1s' },
  };
  return [
    { ...common, name: `svc-${block}`, replicas: 95 },
    {
      ...common,
      name: `chk-${block}`,
      replicas: 5,
      health_check: { type: 'exec', command: ['true'], interval: '1s', timeout: '1s', retries: 3 },
    },
  ];
}

async function deployAll(sim: ClusterSim, options: ScenarioOptions, image = 'sim:v1'): Promise<void> {
  for (let block = 0; block < options.nodes / 10; block++) {
    for (const spec of blockSpecs(block, image)) await sim.deploy(spec);
  }
}

/** `count` distinct nodes picked by the simulation's seeded randomness. */
function pickNodes(sim: ClusterSim, count: number): string[] {
  const names = sim.nodeNames;
  const picked = new Set<string>();
  while (picked.size < Math.min(count, names.length)) {
    picked.add(names[Math.floor(sim.random() * names.length)] ?? '');
  }
  return [...picked];
}

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  /** Every replica placed and running. */
  deploy: async (sim, options) => {
    await deployAll(sim, options);
    await sim.settle(SETTLE_MS);
  },
  /** A new image for every service at once, rolled out start-first (max_surge 5). */
  'rolling-update': async (sim, options) => {
    await deployAll(sim, options);
    await sim.settle(SETTLE_MS);
    await deployAll(sim, options, 'sim:v2');
    await sim.settle(ROLLOUT_SETTLE_MS);
  },
  /** 10% of the hosts die at once; their replicas start elsewhere. */
  'nodes-die': async (sim, options) => {
    await deployAll(sim, options);
    await sim.settle(SETTLE_MS);
    sim.kill(pickNodes(sim, Math.max(1, options.nodes / 10)));
    await sim.settle(SETTLE_MS);
  },
  /** Half the cluster is cut off for 10 s (their replicas move), then the network heals. */
  partition: async (sim, options) => {
    await deployAll(sim, options);
    await sim.settle(SETTLE_MS);
    const half = pickNodes(sim, options.nodes / 2);
    sim.partition(half);
    await sim.run(10_000);
    sim.heal(half);
    await sim.settle(SETTLE_MS);
  },
  /** One node's network comes and goes ten times, for 1–4 s each way. */
  flapping: async (sim, options) => {
    await deployAll(sim, options);
    await sim.settle(SETTLE_MS);
    const [node] = pickNodes(sim, 1);
    if (!node) throw new RangeError('no node to flap');
    for (let i = 0; i < 10; i++) {
      sim.partition([node]);
      await sim.run(1000 + Math.floor(sim.random() * 3000));
      sim.heal([node]);
      await sim.run(1000 + Math.floor(sim.random() * 3000));
    }
    await sim.settle(SETTLE_MS);
  },
};

export function replayCommand(scenario: string, options: ScenarioOptions): string {
  return `npm run sim -- --scenario ${scenario} --seed ${options.seed} --nodes ${options.nodes}`;
}

export async function runScenario(scenario: string, options: ScenarioOptions): Promise<ScenarioResult> {
  const body = SCENARIOS[scenario];
  if (!body)
    throw new RangeError(`unknown scenario ${scenario} (known: ${Object.keys(SCENARIOS).join(', ')})`);
  if (options.nodes <= 0 || options.nodes % 10 !== 0) {
    throw new RangeError(`nodes must be a positive multiple of 10, got ${options.nodes}`);
  }
  const startedAt = performance.now();
  const sim = new ClusterSim({ seed: options.seed, nodes: options.nodes });
  sim.replay = replayCommand(scenario, options);
  const virtualStart = sim.clock.now();
  try {
    await sim.start();
    await body(sim, options);
    return {
      scenario,
      seed: options.seed,
      nodes: options.nodes,
      replicas: options.nodes * 10,
      passes: sim.passes,
      virtualMs: sim.clock.now() - virtualStart,
      realMs: performance.now() - startedAt,
      trace: sim.trace,
    };
  } finally {
    sim.close();
  }
}
