/**
 * Samples the usage of every running replica and of the node every `intervalMs` and hands one
 * `stats` message to `send`. A round's reads are in flight together, up to `concurrency` (the
 * Docker engine answers every waiting one-shot request from the same once-a-second tick of its
 * collector, so 100 containers take about a second of waiting, not a hundred); a round still
 * running when the next is due is not doubled up (that round is skipped). The schedule is drift-free: rounds fall on
 * multiples of the interval from the start, whatever a round took.
 */
import type { StatsMessage } from '../protocol/stats-message.ts';
import { MAX_STATS_REPLICAS } from '../protocol/stats-message.ts';
import type { ContainerUsage, NodeUsage, UsageSource } from './stats-usage.ts';

export const DEFAULT_STATS_INTERVAL_MS = 5000;
/** Reads in flight at once: more than one node runs, so a round is normally one engine tick. */
const DEFAULT_CONCURRENCY = 128;

/** A running replica's container, as the converge loop knows it. */
export interface SampledContainer {
  readonly id: string;
  readonly taskId: string;
  readonly service: string;
  readonly slot: number;
}

export interface StatsSamplerOptions {
  readonly usage: UsageSource;
  /** The replicas running now. */
  readonly containers: () => readonly SampledContainer[];
  readonly intervalMs: number;
  readonly concurrency?: number;
  readonly send: (message: StatsMessage) => void;
  readonly now: () => number;
  readonly onError: (error: unknown) => void;
  /**
   * How long after `start` the first round runs (default: at once). Agents pass a random part of
   * the interval: agents that connect together (a server restart brings them all back in the same
   * second) would otherwise send in step, a burst every interval on the server's event loop.
   */
  readonly firstRoundAfterMs?: () => number;
}

/** Pure: one round's readings as the wire message. Containers without a reading are left out. */
export function statsMessageOf(
  intervalMs: number,
  node: NodeUsage | undefined,
  readings: readonly { readonly container: SampledContainer; readonly usage: ContainerUsage | undefined }[],
): StatsMessage {
  const replicas = [];
  for (const { container, usage } of readings) {
    if (!usage || replicas.length >= MAX_STATS_REPLICAS) continue;
    replicas.push({
      task_id: container.taskId,
      service: container.service,
      slot: container.slot,
      container_id: container.id,
      at: usage.atMs,
      cpu_seconds: usage.cpuSeconds,
      memory_working_set_bytes: usage.memoryWorkingSetBytes,
      memory_limit_bytes: usage.memoryLimitBytes,
      network_rx_bytes: usage.networkRxBytes,
      network_tx_bytes: usage.networkTxBytes,
      block_read_bytes: usage.blockReadBytes,
      block_write_bytes: usage.blockWriteBytes,
      ...(usage.pids === null ? {} : { pids: usage.pids }),
    });
  }
  return {
    type: 'stats',
    interval_ms: intervalMs,
    ...(node
      ? {
          node: {
            at: node.atMs,
            cpu_seconds: node.cpuSeconds,
            cpu_count: node.cpuCount,
            memory_used_bytes: node.memoryUsedBytes,
            memory_total_bytes: node.memoryTotalBytes,
            disk_path: node.diskPath,
            disk_used_bytes: node.diskUsedBytes,
            disk_total_bytes: node.diskTotalBytes,
          },
        }
      : {}),
    replicas,
  };
}

export class StatsSampler {
  readonly #options: StatsSamplerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #startedAtMs = 0;
  #round = 0;
  #intervalMs: number;

  constructor(options: StatsSamplerOptions) {
    this.#options = options;
    this.#intervalMs = options.intervalMs;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * The server asks for fewer rounds (a large cluster): sample every `intervalMs` or the configured
   * interval, whichever is longer; a started sampler starts its rounds anew at a random point of it.
   */
  setInterval(intervalMs: number | undefined): void {
    const next = Math.max(this.#options.intervalMs, intervalMs ?? 0);
    if (next === this.#intervalMs) return;
    this.#intervalMs = next;
    if (!this.#timer) return;
    clearTimeout(this.#timer);
    const delayMs = Math.random() * next;
    this.#startedAtMs = this.#options.now() + delayMs;
    this.#round = 0;
    this.#timer = setTimeout(() => this.#tick(), delayMs);
  }

  get started(): boolean {
    return this.#timer !== undefined;
  }

  /** Samples after `firstRoundAfterMs` (at once by default), then every interval; starting a started sampler does nothing. */
  start(): void {
    if (this.#timer) return;
    const delayMs = Math.max(0, this.#options.firstRoundAfterMs?.() ?? 0);
    this.#startedAtMs = this.#options.now() + delayMs;
    this.#round = 0;
    this.#timer = setTimeout(() => this.#tick(), delayMs);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One round now: the readings as a message (what each tick sends). */
  async sample(): Promise<StatsMessage> {
    const { usage } = this.#options;
    const intervalMs = this.#intervalMs;
    const containers = [...this.#options.containers()];
    const readings: { container: SampledContainer; usage: ContainerUsage | undefined }[] = containers.map(
      (container) => ({ container, usage: undefined }),
    );
    let next = 0;
    const worker = async () => {
      while (next < readings.length) {
        const reading = readings[next++];
        if (reading) reading.usage = await usage.container(reading.container.id).catch(() => undefined);
      }
    };
    const node = usage.node().catch((error: unknown) => {
      this.#options.onError(error);
      return undefined;
    });
    await Promise.all(
      Array.from(
        { length: Math.min(this.#options.concurrency ?? DEFAULT_CONCURRENCY, readings.length) },
        worker,
      ),
    );
    return statsMessageOf(intervalMs, await node, readings);
  }

  #tick(): void {
    if (!this.#timer) return;
    const { now } = this.#options;
    const intervalMs = this.#intervalMs;
    if (!this.#running) {
      this.#running = true;
      this.sample().then(
        (message) => {
          this.#running = false;
          if (this.#timer) this.#options.send(message);
        },
        (error: unknown) => {
          this.#running = false;
          this.#options.onError(error);
        },
      );
    }
    // The next multiple of the interval from the start that is still ahead.
    const elapsed = now() - this.#startedAtMs;
    this.#round = Math.max(this.#round + 1, Math.floor(elapsed / intervalMs) + 1);
    this.#timer = setTimeout(
      () => this.#tick(),
      Math.max(0, this.#startedAtMs + this.#round * intervalMs - now()),
    );
  }
}
