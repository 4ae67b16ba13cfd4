/**
 * The agent's port for resource usage: what one container used, read from wherever the engine
 * keeps it (the Docker implementation is `stats-docker-usage.ts`; the simulator has a fake), and
 * the same for the host. Counters are cumulative since the container (or host) started.
 */

export interface ContainerUsage {
  /** Agent clock, epoch ms, of the reading. */
  readonly atMs: number;
  readonly cpuSeconds: number;
  /** Usage minus inactive file cache. */
  readonly memoryWorkingSetBytes: number;
  /** Null: no limit of its own. */
  readonly memoryLimitBytes: number | null;
  readonly networkRxBytes: number;
  readonly networkTxBytes: number;
  readonly blockReadBytes: number;
  readonly blockWriteBytes: number;
  readonly pids: number | null;
}

export interface NodeUsage {
  readonly atMs: number;
  /** Non-idle CPU seconds since boot, all cores. */
  readonly cpuSeconds: number;
  readonly cpuCount: number;
  readonly memoryUsedBytes: number;
  readonly memoryTotalBytes: number;
  readonly diskPath: string;
  readonly diskUsedBytes: number;
  readonly diskTotalBytes: number;
}

export interface UsageSource {
  /** One container's usage now; undefined when it is gone or not running (nothing to report). */
  container(id: string): Promise<ContainerUsage | undefined>;
  /** The host's usage now. */
  node(): Promise<NodeUsage>;
}
