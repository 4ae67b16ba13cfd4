/**
 * Replica stats arrive many times a second; charts need one point per second per service and
 * per node. This keeps each replica's latest sample and, once a series' second has closed, yields
 * the sums as new points: a chart re-renders at most once a second, whatever the sample rate.
 * Each series' second begins at its own offset (from its key), so the redraws of a hundred charts
 * are spread over the second instead of landing in one frame. Deterministic: time comes from the
 * samples and from `flush(nowMs)`.
 */
import type { NodeUsage, StatsSample } from './messages.ts';

/** Points oldest first; `t` in unix seconds (uPlot's x unit), cpu in millicores, memory in bytes. */
export interface Series {
  readonly t: readonly number[];
  readonly cpu: readonly number[];
  readonly memory: readonly number[];
}

export const EMPTY_SERIES: Series = { t: [], cpu: [], memory: [] };

/** Two minutes of points at one a second. */
export const SERIES_POINTS = 120;
/** A replica not heard of for this long (agents report every 5 s by default) no longer counts in its sums. */
const STALE_MS = 30_000;

interface Latest {
  readonly service: string;
  readonly nodeId: string | null;
  /** The sample's own time, as sent. */
  readonly at: string;
  /** When it arrived. */
  readonly atMs: number;
  readonly cpu: number;
  readonly memory: number;
}

export class StatsSeries {
  readonly #latest = new Map<string, Latest>();
  readonly #services = new Map<string, Series>();
  readonly #nodes = new Map<string, Series>();
  /** Each node's host usage as its agent measured it (not only Skiff's replicas), and its series. */
  readonly #hostLatest = new Map<string, { atMs: number; cpu: number; memory: number }>();
  readonly #hosts = new Map<string, Series>();
  #dirty = false;

  /**
   * Takes samples received at `nowMs`. A replica's samples are ordered by their `at` (ISO times of
   * one server: as text when they have the same form, which spares a Date.parse per sample, of
   * thousands a second); staleness counts from when they arrived.
   */
  add(samples: readonly StatsSample[], nowMs: number): void {
    for (const s of samples) {
      const known = this.#latest.get(s.task_id);
      if (known && isBefore(s.at, known.at)) continue;
      this.#latest.set(s.task_id, {
        service: s.service,
        nodeId: s.node_id,
        at: s.at,
        atMs: nowMs,
        // A share of one core in percent: 100% is 1000 millicores.
        cpu: s.cpu_percent * 10,
        memory: s.memory_bytes,
      });
      this.#dirty = true;
    }
  }

  /** Takes the hosts' own usage received at `nowMs` (CPU as millicores of the whole host). */
  addNodeUsage(usage: readonly NodeUsage[], nowMs: number): void {
    for (const u of usage) {
      this.#hostLatest.set(u.node_id, {
        atMs: nowMs,
        cpu: (u.cpu_percent / 100) * u.cpu_count * 1000,
        memory: u.memory_used_bytes,
      });
      this.#dirty = true;
    }
  }

  /** Forget everything (a resync brings a fresh picture). */
  clear(): void {
    this.#latest.clear();
    this.#hostLatest.clear();
  }

  /**
   * When a new second has begun since the last flush and samples came: the services and nodes
   * (their replicas' sums) and hosts (their own usage) that got a point, with their whole series;
   * otherwise empty maps.
   */
  flush(nowMs: number): {
    services: Map<string, Series>;
    nodes: Map<string, Series>;
    hosts: Map<string, Series>;
  } {
    const services = new Map<string, Series>();
    const nodes = new Map<string, Series>();
    const hosts = new Map<string, Series>();
    if (!this.#dirty) return { services, nodes, hosts };
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
    for (const [name, sum] of byService) {
      const series = this.#push(this.#services, `s:${name}`, nowMs, sum);
      if (series) services.set(name, series);
    }
    for (const [id, sum] of byNode) {
      const series = this.#push(this.#nodes, `n:${id}`, nowMs, sum);
      if (series) nodes.set(id, series);
    }
    for (const [id, host] of this.#hostLatest) {
      if (nowMs - host.atMs > STALE_MS) {
        this.#hostLatest.delete(id);
        continue;
      }
      const series = this.#push(this.#hosts, `h:${id}`, nowMs, host);
      if (series) hosts.set(id, series);
    }
    return { services, nodes, hosts };
  }

  /** The series with a new point, if its own second has turned since its last point. */
  #push(
    map: Map<string, Series>,
    key: string,
    nowMs: number,
    sum: { cpu: number; memory: number },
  ): Series | undefined {
    const second = Math.floor((nowMs + offsetMs(key)) / 1000);
    const old = map.get(key) ?? EMPTY_SERIES;
    if ((old.t.at(-1) ?? 0) >= second) return undefined;
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

/** Whether ISO time `a` is before `b`; text order when both have one form (`…T…Z` of one length). */
function isBefore(a: string, b: string): boolean {
  if (a.length === b.length && a.endsWith('Z') && b.endsWith('Z')) return a < b;
  const aMs = Date.parse(a);
  const bMs = Date.parse(b);
  return Number.isNaN(aMs) || aMs < bMs;
}

/** A fixed offset in [0, 1000) ms per key (FNV-1a of its characters). */
function offsetMs(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % 1000;
}

function add(map: Map<string, { cpu: number; memory: number }>, key: string, s: Latest): void {
  const sum = map.get(key) ?? { cpu: 0, memory: 0 };
  sum.cpu += s.cpu;
  sum.memory += s.memory;
  map.set(key, sum);
}
