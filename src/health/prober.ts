/**
 * Schedules probes: one independent, drift-free schedule per probed replica (probe k runs at
 * start + first + k × interval, wherever the previous one ended), so one slow or hanging probe
 * never delays another. A probe still running when its next turn comes skips that turn rather
 * than piling up.
 */
import type { ContainerEngine } from '../docker/container-engine.ts';
import { parseDurationMs, timerDelayMs } from '../model/duration.ts';
import type { HealthCheck } from '../model/service-spec.ts';
import type { ProbeResult } from './health-tracker.ts';
import type { ProbeTarget } from './probe.ts';
import { runProbe } from './probe.ts';

/** The first probe comes soon after start, so a healthy replica is known healthy quickly. */
const FIRST_PROBE_MAX_MS = 500;

interface Schedule {
  readonly target: ProbeTarget;
  readonly key: string;
  readonly startedAt: number;
  readonly intervalMs: number;
  readonly firstMs: number;
  turn: number;
  inFlight: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface ProberOptions {
  readonly engine: ContainerEngine;
  readonly now: () => number;
  /** `durationMs`: how long the probe took, for the metrics. */
  readonly onResult: (containerId: string, result: ProbeResult, durationMs: number) => void;
  /** Replaceable for tests of the scheduling alone. */
  readonly probe?: (target: ProbeTarget, engine: ContainerEngine) => Promise<ProbeResult>;
}

export class Prober {
  readonly #options: ProberOptions;
  readonly #schedules = new Map<string, Schedule>();

  constructor(options: ProberOptions) {
    this.#options = options;
  }

  /** The replicas to probe now; new ones start their schedule, missing ones stop. */
  sync(targets: readonly ProbeTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.containerId, t]));
    for (const [id, schedule] of this.#schedules) {
      const target = wanted.get(id);
      if (!target || keyOf(target.check, target.ip) !== schedule.key) this.#drop(id);
    }
    for (const target of targets) {
      if (this.#schedules.has(target.containerId)) continue;
      // Clamped whatever the spec says (a server older than the API's bounds may send anything):
      // an interval of 0 would spin the catch-up loop in #arm, one past 2^31-1 ms fire at once.
      const intervalMs = timerDelayMs(Math.max(parseDurationMs(target.check.interval) ?? 10_000, 100));
      const schedule: Schedule = {
        target,
        key: keyOf(target.check, target.ip),
        startedAt: this.#options.now(),
        intervalMs,
        firstMs: Math.min(FIRST_PROBE_MAX_MS, intervalMs),
        turn: 0,
        inFlight: false,
        timer: undefined,
      };
      this.#schedules.set(target.containerId, schedule);
      this.#arm(schedule);
    }
  }

  stop(): void {
    for (const id of [...this.#schedules.keys()]) this.#drop(id);
  }

  get size(): number {
    return this.#schedules.size;
  }

  #drop(id: string): void {
    const schedule = this.#schedules.get(id);
    clearTimeout(schedule?.timer);
    this.#schedules.delete(id);
  }

  #arm(schedule: Schedule): void {
    const now = this.#options.now();
    let due = schedule.startedAt + schedule.firstMs + schedule.turn * schedule.intervalMs;
    // Turns missed while the process was busy are skipped, not run in a burst.
    while (due < now - schedule.intervalMs) {
      schedule.turn++;
      due += schedule.intervalMs;
    }
    schedule.timer = setTimeout(() => this.#fire(schedule), timerDelayMs(due - now));
  }

  #fire(schedule: Schedule): void {
    if (this.#schedules.get(schedule.target.containerId) !== schedule) return;
    schedule.turn++;
    this.#arm(schedule);
    if (schedule.inFlight) return;
    schedule.inFlight = true;
    const probe = this.#options.probe ?? runProbe;
    const startedAt = performance.now();
    void probe(schedule.target, this.#options.engine)
      .catch((error: unknown) => ({
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      }))
      .then((result) => {
        schedule.inFlight = false;
        if (this.#schedules.get(schedule.target.containerId) === schedule) {
          this.#options.onResult(schedule.target.containerId, result, performance.now() - startedAt);
        }
      });
  }
}

function keyOf(check: HealthCheck, ip: string | null): string {
  return `${JSON.stringify(check)}@${ip ?? ''}`;
}
