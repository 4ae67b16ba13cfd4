/**
 * The stats window (src/stats) as the metrics' usage source: the latest sample of every live
 * replica and node. Stale nodes and gone replicas are left out by the window itself. Read straight
 * from each series' newest sample: a scrape needs the counters, not the rates and percentages of
 * `stats-view.ts` (which at 1,000 replicas cost a scrape more than its text).
 */
import type { StatsWindow } from '../stats/stats-window.ts';
import type { NodeUsage, ReplicaUsage, UsageSource } from './usage-families.ts';

export function statsUsage(window: StatsWindow, now: () => number): UsageSource {
  return {
    replicas: (): ReplicaUsage[] => {
      const out: ReplicaUsage[] = [];
      for (const series of window.replicas(now())) {
        const latest = series.samples.last();
        if (latest === undefined) continue;
        out.push({
          node: series.nodeId,
          service: series.service,
          replica: `${series.service}-${series.slot}`,
          container: series.containerId.slice(0, 12),
          cpuSeconds: latest.cpu_seconds,
          memoryWorkingSetBytes: latest.memory_working_set_bytes,
          memoryLimitBytes: latest.memory_limit_bytes,
          networkRxBytes: latest.network_rx_bytes,
          networkTxBytes: latest.network_tx_bytes,
          blockReadBytes: latest.block_read_bytes,
          blockWriteBytes: latest.block_write_bytes,
        });
      }
      return out;
    },
    nodes: (): NodeUsage[] => {
      const out: NodeUsage[] = [];
      for (const series of window.nodes(now())) {
        const latest = series.samples.last();
        if (latest === undefined) continue;
        out.push({
          node: series.nodeId,
          cpuSeconds: latest.cpu_seconds,
          cpuCount: latest.cpu_count,
          memoryUsedBytes: latest.memory_used_bytes,
          memoryTotalBytes: latest.memory_total_bytes,
          diskUsedBytes: latest.disk_used_bytes,
          diskTotalBytes: latest.disk_total_bytes,
        });
      }
      return out;
    },
  };
}
