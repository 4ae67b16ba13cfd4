/**
 * `skiff stats` as tables, in `docker stats`' columns: per replica CPU % (of one core), memory
 * working set / limit and its share, network and block I/O (cumulative, in / out), PIDs and node;
 * then, for the whole cluster, each node's CPU, memory and disk. Pure.
 */
import type { NodeStats, ReplicaStats } from '../stats/stats-schema.ts';
import { formatBytes } from './human-units.ts';
import { formatTable } from './table.ts';

const percent = (value: number | null) => (value === null ? '--' : `${value.toFixed(2)}%`);

export function formatReplicaStatsTable(replicas: readonly ReplicaStats[]): string[] {
  return formatTable(
    ['REPLICA', 'NODE', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'],
    replicas.map((r) => [
      r.replica,
      r.node,
      percent(r.cpu_percent),
      `${formatBytes(r.memory_working_set_bytes)} / ${r.memory_limit_bytes === null ? 'none' : formatBytes(r.memory_limit_bytes)}`,
      percent(r.memory_percent),
      `${formatBytes(r.network_rx_bytes)} / ${formatBytes(r.network_tx_bytes)}`,
      `${formatBytes(r.block_read_bytes)} / ${formatBytes(r.block_write_bytes)}`,
      r.pids === null ? '--' : String(r.pids),
    ]),
  );
}

export function formatNodeStatsTable(nodes: readonly NodeStats[]): string[] {
  return formatTable(
    ['NODE', 'CPU %', 'CPUS', 'MEM USED / TOTAL', 'MEM %', 'DISK USED / TOTAL', 'DISK %'],
    nodes.map((n) => [
      n.node,
      percent(n.cpu_percent),
      String(n.cpu_count),
      `${formatBytes(n.memory_used_bytes)} / ${formatBytes(n.memory_total_bytes)}`,
      percent(n.memory_percent),
      `${formatBytes(n.disk_used_bytes)} / ${formatBytes(n.disk_total_bytes)}`,
      percent(n.disk_percent),
    ]),
  );
}

/** One frame: the replicas, and (for the cluster view) a blank line and the nodes. */
export function formatStatsFrame(replicas: readonly ReplicaStats[], nodes?: readonly NodeStats[]): string[] {
  const lines = formatReplicaStatsTable(replicas);
  if (nodes !== undefined) lines.push('', ...formatNodeStatsTable(nodes));
  return lines;
}
