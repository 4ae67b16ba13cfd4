/**
 * Replica stats arrive many times a second; charts need one point per second per service and
 * per node. This keeps each replica's latest sample and, once a second has closed, yields the
 * sums as new points: a chart re-renders at most once a second, whatever the sample rate.
 * Deterministic: time comes from the samples and from `flush(nowMs)`.
 */
import type { StatsSample } from './messages.ts';

/** Points oldest first; `t` in unix seconds (uPlot's x unit), cpu in millicores, memory in bytes. */
export interface Series {
  readonly t: readonly number[];
  readonly cpu: readonly number[];
  readonly memory: readonly number[];
}

export const EMPTY_SERIES: Series = { t: [], cpu: [], memory: [] };

/** Two minutes of points at one a second. */
export const SERIES_POINTS = 120;
/** A replica not heard of for this long no longer counts in its service's sum. */
const STALE_MS = 10_000;

interface Latest {
  readonly service: string;
  readonly nodeId: string | null;
  readonly atMs: number;
  readonly cpu: number;
  readonly memory: number;
}

export class StatsSeries {
  readonly #latest = new Map<string, Latest>();
  readonly #services = new Map<string, Series>();
  readonly #nodes = new Map<string, Series>();
  #lastSecond = 0;
  #dirty = false;

  add(samples: readonly StatsSample[]): void {
    for (const s of samples) {
      const known = this.#latest.get(s.task_id);
      if (known && known.atMs > s.at_ms) continue;
      this.#latest.set(s.task_id, {
        service: s.service,
        nodeId: s.node_id,
        atMs: s.at_ms,
        cpu: s.cpu_millicores,
        memory: s.memory_bytes,
      });
      this.#dirty = true;
    }
  }

  /** Forget everything (a resync brings a fresh picture). */
  clear(): void {
    this.#latest.clear();
  }

  /**
   * When a new second has begun since the last flush and samples came: the services and nodes
   * that got a point, with their whole series; otherwise empty maps.
   */
  flush(nowMs: number): { services: Map<string, Series>; nodes: Map<string, Series> } {
    const second = Math.floor(nowMs / 1000);
    const services = new Map<string, Series>();
    const nodes = new Map<string, Series>();
    if (second <= this.#lastSecond || !this.#dirty) return { services, nodes };
    this.#lastSecond = second;
    this.#dirty = false;
    const byService = new Map<string, { cpu: number; memory: number }>();
    const byNode = new Map<string, { cpu: number; memory: number }>();
    for (const [taskId, s] of this.#latest) {
      if (nowMs - s.atMs > STALE_MS) {
        this.#latest.delete(taskId);
        continue;
      }
      add(byService, s.service, s);
      if (s.nodeId !== null) add(byNode, s.nodeId, s);
    }
    for (const [name, sum] of byService) services.set(name, this.#push(this.#services, name, second, sum));
    for (const [id, sum] of byNode) nodes.set(id, this.#push(this.#nodes, id, second, sum));
    return { services, nodes };
  }

  #push(map: Map<string, Series>, key: string, second: number, sum: { cpu: number; memory: number }): Series {
    const old = map.get(key) ?? EMPTY_SERIES;
    const drop = old.t.length >= SERIES_POINTS ? old.t.length - SERIES_POINTS + 1 : 0;
    const next: Series = {
      t: [...old.t.slice(drop), second],
      cpu: [...old.cpu.slice(drop), sum.cpu],
      memory: [...old.memory.slice(drop), sum.memory],
    };
    map.set(key, next);
    return next;
  }
}

function add(map: Map<string, { cpu: number; memory: number }>, key: string, s: Latest): void {
  const sum = map.get(key) ?? { cpu: 0, memory: 0 };
  sum.cpu += s.cpu;
  sum.memory += s.memory;
  map.set(key, sum);
}
