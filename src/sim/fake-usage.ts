/**
 * Resource usage for simulated containers: a `UsageSource` whose counters grow steadily from the
 * moment it first sees a container (a few percent of a core, a few KB/s of network), with the
 * memory of a small service, and a host at a third of its capacity. Enough for the stats stream
 * of a simulated fleet to cost what a real one costs the server; the numbers mean nothing.
 */
import type { ContainerUsage, NodeUsage, UsageSource } from '../agent/stats-usage.ts';

const MiB = 1024 * 1024;

export class FakeUsageSource implements UsageSource {
  readonly #now: () => number;
  readonly #node: { cpuCount: number; memoryBytes: number };
  readonly #firstSeenMs = new Map<string, number>();
  readonly #bootMs: number;

  constructor(node: { cpuMillicores: number; memoryBytes: number }, now: () => number = Date.now) {
    this.#now = now;
    this.#node = {
      cpuCount: Math.max(1, Math.round(node.cpuMillicores / 1000)),
      memoryBytes: node.memoryBytes,
    };
    this.#bootMs = now();
  }

  async container(id: string): Promise<ContainerUsage | undefined> {
    const now = this.#now();
    const since = this.#firstSeenMs.get(id) ?? now;
    this.#firstSeenMs.set(id, since);
    // The set would otherwise keep every container ever seen: keep it to the live ones, roughly.
    if (this.#firstSeenMs.size > 10_000) this.#firstSeenMs.clear();
    const seconds = (now - since) / 1000;
    return {
      atMs: now,
      cpuSeconds: seconds * 0.02,
      memoryWorkingSetBytes: 24 * MiB,
      memoryLimitBytes: 64 * MiB,
      networkRxBytes: Math.round(seconds * 2048),
      networkTxBytes: Math.round(seconds * 4096),
      blockReadBytes: 0,
      blockWriteBytes: Math.round(seconds * 512),
      pids: 2,
    };
  }

  async node(): Promise<NodeUsage> {
    const now = this.#now();
    return {
      atMs: now,
      cpuSeconds: ((now - this.#bootMs) / 1000) * this.#node.cpuCount * 0.3,
      cpuCount: this.#node.cpuCount,
      memoryUsedBytes: Math.round(this.#node.memoryBytes / 3),
      memoryTotalBytes: this.#node.memoryBytes,
      diskPath: '/var/lib/docker',
      diskUsedBytes: 20 * 1024 * MiB,
      diskTotalBytes: 100 * 1024 * MiB,
    };
  }
}
