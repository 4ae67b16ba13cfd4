/**
 * Helpers for the benchmarks: bounded waits, medians, a plain-text table, and a ContainerEngine
 * wrapper that timestamps every engine call (for `--trace`, to see where a deploy's time goes).
 */
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { containerDefinition } from '../src/docker/container-definition.ts';
import type { ContainerDefinition, ContainerEngine } from '../src/docker/container-engine.ts';
import { LABELS } from '../src/docker/container-engine.ts';
import type { ServiceSpec } from '../src/model/service-spec.ts';
import type { TaskSpec } from '../src/protocol/messages.ts';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `check` every `intervalMs` until it returns a value other than undefined; throws once
 * `timeoutMs` has passed, naming what it waited for.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  intervalMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Rejects with a named error if `promise` does not settle within `timeoutMs`. */
export async function withDeadline<T>(what: string, timeoutMs: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * The p-th percentile (0 < p ≤ 100) by nearest rank: the smallest value with at least p% of the
 * values at or below it (the p95 of 20 values is the 19th smallest).
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Left-aligned first column, right-aligned others, two spaces between columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function positiveInt(name: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Error(`--${name}: must be an integer 1..${max}, got ${text}`);
  return n;
}

/** One engine call, in ms since the `performance` origin. */
export interface EngineCall {
  readonly op: string;
  readonly start: number;
  readonly end: number;
  /** For listManaged: how many containers, and how many of them running. */
  readonly detail?: string;
}

/** The engine calls worth timing, by method name → short label. */
const TRACED: Readonly<Record<string, string>> = {
  listManaged: 'list',
  hasImage: 'hasImage',
  pullImage: 'pull',
  createContainer: 'create',
  startContainer: 'start',
  stopContainer: 'stop',
  removeContainer: 'remove',
};

/**
 * Wraps an engine so every call of the methods in TRACED is recorded with when it started and
 * ended; everything else passes straight through. A proxy rather than a class, so it keeps up
 * with the ContainerEngine port as it grows.
 */
export class EngineTracer {
  calls: EngineCall[] = [];
  readonly engine: ContainerEngine;

  constructor(inner: ContainerEngine) {
    const record = (call: EngineCall) => this.calls.push(call);
    this.engine = new Proxy(inner, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const op = typeof property === 'string' ? TRACED[property] : undefined;
        // Methods run on the real engine: its private fields are not reachable through a proxy.
        if (op === undefined) return (...args: unknown[]) => Reflect.apply(value, target, args);
        return async (...args: unknown[]) => {
          const start = performance.now();
          const result: unknown = await Reflect.apply(value, target, args);
          const call: EngineCall = { op, start, end: performance.now() };
          record(Array.isArray(result) ? { ...call, detail: listDetail(result) } : call);
          return result;
        };
      },
    });
  }

  /** Returns the calls recorded so far and starts a new record. */
  take(): EngineCall[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}

function listDetail(list: readonly unknown[]): string {
  const running = list.filter(
    (c) =>
      typeof c === 'object' && c !== null && 'state' in c && (c as { state: unknown }).state === 'running',
  );
  return `${list.length} listed, ${running.length} running`;
}

/** Sum of the lengths of `intervals` after merging overlaps: how long at least one was open. */
export function coveredMs(intervals: readonly { start: number; end: number }[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let open: { start: number; end: number } | undefined;
  for (const interval of sorted) {
    if (open && interval.start <= open.end)
      open = { start: open.start, end: Math.max(open.end, interval.end) };
    else {
      if (open) total += open.end - open.start;
      open = { ...interval };
    }
  }
  if (open) total += open.end - open.start;
  return total;
}

/** The raw floor's own user-defined bridge: the same kind of network Skiff's replicas join. */
export function floorNetworkName(rawClusterId: string): string {
  return `${rawClusterId}-net`;
}

export async function ensureFloorNetwork(docker: Docker, rawClusterId: string): Promise<void> {
  await docker.createNetwork({
    Name: floorNetworkName(rawClusterId),
    Driver: 'bridge',
    // Outside Skiff's 10.240.0.0/12, so it never collides with the measured cluster's networks.
    IPAM: { Config: [{ Subnet: '192.168.251.0/24' }] },
    Labels: { [LABELS.cluster]: rawClusterId },
  });
}

/** Removes a cluster's networks (its containers must be gone). */
export async function removeClusterNetworks(docker: Docker, clusterId: string): Promise<void> {
  for (const network of await docker.listNetworks({
    filters: { label: [`${LABELS.cluster}=${clusterId}`] },
  })) {
    await docker
      .getNetwork(network.Id)
      .remove()
      .catch(() => {});
  }
}

/**
 * A replica's create body for the raw floor: what Skiff would create, on the floor's own bridge
 * (a Skiff network carries the measured cluster's label, and the floor must not touch it).
 */
export function rawDefinition(
  service: string,
  slot: number,
  spec: ServiceSpec,
  rawClusterId: string,
): ContainerDefinition {
  const task: TaskSpec = {
    task_id: randomUUID().replaceAll('-', ''),
    service,
    slot,
    revision: 1,
    spec,
    networks: [{ name: 'default', index: 0 }],
  };
  const definition = containerDefinition(task, rawClusterId);
  const { NetworkingConfig: _networking, ...body } = definition.body;
  const hostConfig: Record<string, unknown> = {
    ...(body.HostConfig as Record<string, unknown>),
    NetworkMode: floorNetworkName(rawClusterId),
  };
  delete hostConfig.Dns;
  delete hostConfig.DnsSearch;
  return { ...definition, body: { ...body, HostConfig: hostConfig }, networks: [] };
}
