/**
 * The stats window (src/stats) as the metrics' usage source: the latest sample of every live
 * replica and node. Stale nodes and gone replicas are left out by the window itself.
 */
import { latestNodeStats, latestReplicaStats } from '../stats/stats-view.ts';
import type { StatsWindow } from '../stats/stats-window.ts';
import type { NodeUsage, ReplicaUsage, UsageSource } from './usage-families.ts';

export function statsUsage(window: StatsWindow, now: () => number): UsageSource {
  return {
    replicas: (): ReplicaUsage[] =>
      latestReplicaStats(window, now()).map((r) => ({
        node: r.node,
        service: r.service,
        replica: r.replica,
        container: r.container_id.slice(0, 12),
        cpuSeconds: r.cpu_seconds,
        memoryWorkingSetBytes: r.memory_working_set_bytes,
        memoryLimitBytes: r.memory_limit_bytes,
        networkRxBytes: r.network_rx_bytes,
        networkTxBytes: r.network_tx_bytes,
        blockReadBytes: r.block_read_bytes,
        blockWriteBytes: r.block_write_bytes,
      })),
    nodes: (): NodeUsage[] =>
      latestNodeStats(window, now()).map((n) => ({
        node: n.node,
        cpuSeconds: n.cpu_seconds,
        cpuCount: n.cpu_count,
        memoryUsedBytes: n.memory_used_bytes,
        memoryTotalBytes: n.memory_total_bytes,
        diskUsedBytes: n.disk_used_bytes,
        diskTotalBytes: n.disk_total_bytes,
      })),
  };
}
