/**
 * A fleet of simulated agents in one process, each with a fake engine of its own: started in
 * batches (so a thousand handshakes do not land in one turn), killed by name (hosts dying at
 * once), and churned (random running containers killed at a steady rate, which their agents then
 * replace). Counters add up what the agents received.
 */
import type { DelayMs } from './fake-engine.ts';
import { FakeEngine } from './fake-engine.ts';
import { FakeUsageSource } from './fake-usage.ts';
import type { Random } from './random.ts';
import { seededRandom, seedOf } from './random.ts';
import { RealAgent } from './real-agent.ts';
import { SharedEndpoints } from './shared-endpoints.ts';
import type { SimAgentCounters } from './sim-agent.ts';
import { SimAgent } from './sim-agent.ts';

/** What the fleet drives: a `SimAgent`, or the real `Agent` wrapped as `RealAgent`. */
export interface FleetAgent {
  readonly name: string;
  readonly engine: FakeEngine;
  readonly registered: boolean;
  readonly counters: SimAgentCounters;
  /** When its last assignment arrived (epoch ms), where the agent keeps it (SimAgent). */
  readonly lastAssignedAt?: number | undefined;
  start(): Promise<void>;
  kill(): void;
  stop(): void;
}

export interface SimFleetOptions {
  readonly serverUrl: string;
  readonly joinToken: string;
  readonly nodes: number;
  /** Node names are `<prefix>-0001` …; the prefix keeps two fleets on one server apart. */
  readonly namePrefix: string;
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  readonly startDelayMs: DelayMs;
  readonly seed: number;
  /** Agents connecting at once while the fleet starts. */
  readonly startBatch?: number;
  /** `real` runs src/agent/agent.ts (data plane off, data dirs under `dataRoot`). */
  readonly agent?: 'sim' | 'real';
  readonly dataRoot?: string;
  /** How often each agent sends stats (fake usage, src/sim/fake-usage.ts); 0 or absent: never. */
  readonly statsIntervalMs?: number;
  readonly log: (message: string) => void;
}

export class SimFleet {
  readonly #options: SimFleetOptions;
  readonly #random: Random;
  readonly agents: FleetAgent[] = [];
  #churn: NodeJS.Timeout | undefined;
  /** Containers the churn killed. */
  churnKills = 0;

  constructor(options: SimFleetOptions) {
    this.#options = options;
    this.#random = seededRandom(options.seed);
    const endpoints = new SharedEndpoints();
    for (let i = 1; i <= options.nodes; i++) {
      const name = `${options.namePrefix}-${String(i).padStart(4, '0')}`;
      const engine = new FakeEngine({
        random: seededRandom(seedOf(name, options.seed)),
        startDelayMs: options.startDelayMs,
        info: { name, cpuMillicores: options.cpuMillicores, memoryBytes: options.memoryBytes },
      });
      const common = {
        serverUrl: options.serverUrl,
        joinToken: options.joinToken,
        name,
        engine,
        ...(options.statsIntervalMs
          ? {
              usage: new FakeUsageSource({
                cpuMillicores: options.cpuMillicores,
                memoryBytes: options.memoryBytes,
              }),
              statsIntervalMs: options.statsIntervalMs,
            }
          : {}),
        log: options.log,
      };
      this.agents.push(
        options.agent === 'real'
          ? new RealAgent({ ...common, dataRoot: options.dataRoot ?? '/dev/shm/skiff-sim' })
          : new SimAgent({ ...common, endpoints }),
      );
    }
  }

  /** Starts every agent, `startBatch` at a time, the next batch once this one is welcomed. */
  async start(timeoutMs = 60_000): Promise<void> {
    const batch = this.#options.startBatch ?? 50;
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < this.agents.length; i += batch) {
      const group = this.agents.slice(i, i + batch);
      await Promise.all(group.map((agent) => agent.start()));
      while (!group.every((agent) => agent.registered)) {
        if (Date.now() > deadline) {
          const waiting = group.filter((a) => !a.registered).map((a) => a.name);
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for agents to register: ${waiting.join(', ')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** Kills the named agents at once (their hosts die); returns how many it found. */
  kill(names: readonly string[]): number {
    const wanted = new Set(names);
    let killed = 0;
    for (const agent of this.agents) {
      if (!wanted.has(agent.name)) continue;
      agent.kill();
      killed++;
    }
    return killed;
  }

  /** Kills `perSecond` random running containers a second (in 10 slices) until `stopChurn`. */
  startChurn(perSecond: number, live: (agent: FleetAgent) => boolean): void {
    this.stopChurn();
    const sliceMs = 100;
    let owed = 0;
    this.#churn = setInterval(() => {
      owed += (perSecond * sliceMs) / 1000;
      const candidates = this.agents.filter(live);
      for (; owed >= 1 && candidates.length > 0; owed--) {
        const agent = candidates[Math.floor(this.#random() * candidates.length)];
        const running = agent?.engine.runningIds() ?? [];
        const victim = running[Math.floor(this.#random() * running.length)];
        if (agent && victim && agent.engine.kill(victim)) this.churnKills++;
      }
    }, sliceMs);
  }

  stopChurn(): void {
    clearInterval(this.#churn);
    this.#churn = undefined;
  }

  /**
   * Slots (service and slot number) with a running container on the engines of the agents `live`
   * selects: a slot counts once however many containers run it (a replaced node's leftovers).
   */
  runningSlots(live: (agent: FleetAgent) => boolean): number {
    const slots = new Set<string>();
    for (const agent of this.agents) {
      if (!live(agent)) continue;
      agent.engine.addRunningSlots(slots);
    }
    return slots.size;
  }

  stop(): void {
    this.stopChurn();
    for (const agent of this.agents) agent.stop();
  }

  counters(): SimAgentCounters & { registered: number } {
    const total = {
      messages: 0,
      bytes: 0,
      endpointsWhole: 0,
      endpointWholeBytes: 0,
      endpointDeltas: 0,
      endpointDeltaBytes: 0,
      endpointResyncs: 0,
      assignments: 0,
      reports: 0,
      stats: 0,
      images: 0,
      connects: 0,
      registered: 0,
    };
    for (const agent of this.agents) {
      for (const key of Object.keys(agent.counters) as (keyof SimAgentCounters)[])
        total[key] += agent.counters[key];
      if (agent.registered) total.registered++;
    }
    return total;
  }
}
