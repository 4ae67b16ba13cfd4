/**
 * What readers get from the window: the latest sample of each replica and node with the figures
 * derived from the last two (CPU %, rates, shares of a limit). These rows are the JSON of
 * `GET /api/stats`, what `skiff stats` prints and what /metrics and the dashboard read. Pure over
 * the window's contents.
 */
import { isoTimeOrNull } from '../model/bounds.ts';
import type { NodeSampleWire } from '../protocol/stats-message.ts';
import type { NodeStats, ReplicaStats } from './stats-schema.ts';
import type { NodeSeries, ReplicaSample, ReplicaSeries, StatsWindow } from './stats-window.ts';
import { cpuPercentOfHost, cpuPercentOfOneCore, percentOf, ratePerSecond } from './usage-arithmetic.ts';

export type { NodeStats, ReplicaStats } from './stats-schema.ts';

const reading = (sample: { at: number }, value: number) => ({ atMs: sample.at, value });

export function replicaStatsOf(
  series: ReplicaSeries,
  nodeMemoryBytes: number | null,
): ReplicaStats | undefined {
  const latest = series.samples.last();
  if (!latest) return undefined;
  const before = series.samples.last(1);
  const rate = (value: (s: ReplicaSample) => number) =>
    before ? ratePerSecond(reading(before, value(before)), reading(latest, value(latest))) : null;
  return {
    task_id: series.taskId,
    service: series.service,
    slot: series.slot,
    replica: `${series.service}-${series.slot}`,
    node: series.nodeId,
    container_id: series.containerId,
    at: isoTimeOrNull(latest.at),
    cpu_percent: before
      ? cpuPercentOfOneCore(reading(before, before.cpu_seconds), reading(latest, latest.cpu_seconds))
      : null,
    cpu_seconds: latest.cpu_seconds,
    memory_working_set_bytes: latest.memory_working_set_bytes,
    memory_limit_bytes: latest.memory_limit_bytes,
    memory_percent: percentOf(latest.memory_working_set_bytes, latest.memory_limit_bytes ?? nodeMemoryBytes),
    network_rx_bytes: latest.network_rx_bytes,
    network_tx_bytes: latest.network_tx_bytes,
    network_rx_bytes_per_second: rate((s) => s.network_rx_bytes),
    network_tx_bytes_per_second: rate((s) => s.network_tx_bytes),
    block_read_bytes: latest.block_read_bytes,
    block_write_bytes: latest.block_write_bytes,
    pids: latest.pids ?? null,
  };
}

export function nodeStatsOf(series: NodeSeries): NodeStats | undefined {
  const latest = series.samples.last();
  if (!latest) return undefined;
  const before = series.samples.last(1);
  return {
    node: series.nodeId,
    at: isoTimeOrNull(latest.at),
    cpu_percent: before
      ? cpuPercentOfHost(
          reading(before, before.cpu_seconds),
          reading(latest, latest.cpu_seconds),
          latest.cpu_count,
        )
      : null,
    cpu_count: latest.cpu_count,
    cpu_seconds: latest.cpu_seconds,
    memory_used_bytes: latest.memory_used_bytes,
    memory_total_bytes: latest.memory_total_bytes,
    memory_percent: percentOf(latest.memory_used_bytes, latest.memory_total_bytes),
    disk_path: latest.disk_path,
    disk_used_bytes: latest.disk_used_bytes,
    disk_total_bytes: latest.disk_total_bytes,
    disk_percent: percentOf(latest.disk_used_bytes, latest.disk_total_bytes),
  };
}

/** The latest figures of every replica with fresh stats, by service then slot. */
export function latestReplicaStats(window: StatsWindow, nowMs: number, service?: string): ReplicaStats[] {
  return statsOf(
    window,
    window.replicas(nowMs).filter((series) => service === undefined || series.service === service),
  );
}

/**
 * The latest figures of one node's replicas, by service then slot: what changed with its stats
 * message (the dashboard's stream asks after every one, 200 a second at 1,000 nodes, so not of
 * every replica in the cluster).
 */
export function latestReplicaStatsOfNode(window: StatsWindow, nodeId: string, nowMs: number): ReplicaStats[] {
  return statsOf(window, window.replicasOfNode(nodeId, nowMs));
}

function statsOf(window: StatsWindow, series: readonly ReplicaSeries[]): ReplicaStats[] {
  const out: ReplicaStats[] = [];
  for (const one of series) {
    const nodeMemory = window.node(one.nodeId)?.samples.last()?.memory_total_bytes ?? null;
    const stats = replicaStatsOf(one, nodeMemory);
    if (stats) out.push(stats);
  }
  return out.sort(
    (a, b) => a.service.localeCompare(b.service) || a.slot - b.slot || a.task_id.localeCompare(b.task_id),
  );
}

/** The latest figures of every node with fresh stats, by name. */
export function latestNodeStats(window: StatsWindow, nowMs: number): NodeStats[] {
  const out: NodeStats[] = [];
  for (const series of window.nodes(nowMs)) {
    const stats = nodeStatsOf(series);
    if (stats) out.push(stats);
  }
  return out.sort((a, b) => a.node.localeCompare(b.node));
}

/** A replica's window, oldest first (empty when unknown). */
export function replicaWindow(window: StatsWindow, taskId: string): ReplicaSample[] {
  return window.replica(taskId)?.samples.toArray() ?? [];
}

/** A node's window, oldest first (empty when unknown). */
export function nodeWindow(window: StatsWindow, nodeId: string): NodeSampleWire[] {
  return window.node(nodeId)?.samples.toArray() ?? [];
}
