/**
 * The autoscaling loop: every few seconds, for each service with an `autoscale` block, the usage
 * per replica of its current revision over the policy's window (src/autoscale/usage-share.ts,
 * from the stats window), the decision (src/autoscale/scale-decision.ts), and if it says so a
 * scale written to the store with an event giving the figures. What it remembers between rounds
 * (recommendations, when each count last changed) is memory only: a restarted or new leader
 * starts from the store's counts and the agents' next samples.
 */
import { decideScale, type Recommendation } from '../autoscale/scale-decision.ts';
import { usageShare } from '../autoscale/usage-share.ts';
import { parseDurationMs } from '../model/duration.ts';
import { replicaWindow } from '../stats/stats-view.ts';
import type { StatsWindow } from '../stats/stats-window.ts';
import type { Store } from '../store/store.ts';
import type { EventLog } from './event-log.ts';

export const AUTOSCALE_INTERVAL_MS = 5000;

export interface AutoscalerOptions {
  readonly store: Store;
  readonly stats: StatsWindow;
  readonly events: Pick<EventLog, 'append'>;
  readonly now: () => number;
  /** Wakes the controller after a change. */
  readonly trigger: () => void;
  /** Only the leader scales (a single server always leads). */
  readonly isLeader?: () => boolean;
  readonly log: (message: string) => void;
  readonly intervalMs?: number;
}

interface Memory {
  history: readonly Recommendation[];
  /** The count last seen and when it changed to it. */
  replicas: number;
  changedAt: number | null;
}

export class Autoscaler {
  readonly #options: AutoscalerOptions;
  readonly #memory = new Map<string, Memory>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AutoscalerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => this.round(), this.#options.intervalMs ?? AUTOSCALE_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One round over every autoscaled service (exposed for tests). */
  round(): void {
    const { store, stats, now: clock } = this.#options;
    if (this.#options.isLeader && !this.#options.isLeader()) return;
    const now = clock();
    const seen = new Set<string>();
    for (const service of store.listServices()) {
      const { spec } = service;
      const policy = spec.autoscale;
      if (!policy) continue;
      seen.add(spec.name);
      const memory = this.#memory.get(spec.name) ?? {
        history: [],
        replicas: spec.replicas,
        changedAt: null,
      };
      // A manual scale (inside the range) is a change too: the cool-downs count from it.
      if (memory.replicas !== spec.replicas) {
        memory.replicas = spec.replicas;
        memory.changedAt = now;
      }
      const tasks = store
        .listTasks(spec.name)
        .filter(
          (t) =>
            t.desiredState === 'running' &&
            t.revision === service.revision &&
            t.observed?.state === 'running',
        );
      const usage = usageShare(
        tasks.map((t) => replicaWindow(stats, t.id)),
        { cpus: spec.resources.cpus, memoryMb: spec.resources.memory_mb },
        parseDurationMs(policy.window) ?? 60_000,
        now,
      );
      const outcome = decideScale({
        policy,
        current: spec.replicas,
        cpuShare: usage.cpuShare,
        memoryShare: usage.memoryShare,
        measured: usage.measured,
        now,
        lastChangeAt: memory.changedAt,
        rolloutInProgress: service.rollout?.state === 'in_progress' && service.rollout.from_revision !== null,
        history: memory.history,
      });
      memory.history = outcome.history;
      const { decision } = outcome;
      if (decision.kind === 'scale' && decision.to !== spec.replicas) {
        try {
          store.setReplicas(spec.name, decision.to, now);
        } catch (error) {
          this.#options.log(
            `autoscale ${spec.name}: ${error instanceof Error ? error.message : String(error)}`,
          );
          this.#memory.set(spec.name, memory);
          continue;
        }
        this.#options.events.append(
          {
            type: 'scale',
            service: spec.name,
            container: null,
            node: null,
            message: `Autoscaled ${spec.name} from ${spec.replicas} to ${decision.to} replica(s): ${decision.reason}`,
          },
          now,
        );
        memory.replicas = decision.to;
        memory.changedAt = now;
        this.#options.trigger();
      }
      this.#memory.set(spec.name, memory);
    }
    for (const name of this.#memory.keys()) if (!seen.has(name)) this.#memory.delete(name);
  }
}
