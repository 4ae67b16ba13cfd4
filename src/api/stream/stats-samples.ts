/**
 * The stream's stats topic from the server's stats window (src/stats): after each agent's stats
 * message, the latest figures of that node's replicas as `StatsSample`s, and of the node's host as
 * a `NodeUsage`. A first sample has no CPU % yet (it takes two); each is sent from its second on.
 * The latest of every replica and node, for a stream that starts (or a poll), come from the window
 * too: nothing is kept for the stream while no one watches it.
 */
import type { NodeStats, ReplicaStats } from '../../stats/stats-schema.ts';
import {
  latestNodeStats,
  latestReplicaStats,
  latestReplicaStatsOfNode,
  nodeStatsOf,
} from '../../stats/stats-view.ts';
import type { StatsWindow } from '../../stats/stats-window.ts';
import type { NodeUsage, StatsSample } from './messages.ts';

export function sampleOf(stats: ReplicaStats, nowMs: number): StatsSample | undefined {
  if (stats.cpu_percent === null) return undefined;
  return {
    task_id: stats.task_id,
    service: stats.service,
    container: stats.replica,
    node_id: stats.node,
    at: stats.at ?? new Date(nowMs).toISOString(),
    cpu_percent: stats.cpu_percent,
    memory_bytes: stats.memory_working_set_bytes,
    memory_limit_bytes: stats.memory_limit_bytes,
    net_rx_bytes: stats.network_rx_bytes,
    net_tx_bytes: stats.network_tx_bytes,
  };
}

export function subscribeSamples(
  window: StatsWindow,
  now: () => number,
  listener: (samples: readonly StatsSample[]) => void,
): () => void {
  return window.subscribe((nodeId) => {
    const at = now();
    const samples = latestReplicaStatsOfNode(window, nodeId, at)
      .map((r) => sampleOf(r, at))
      .filter((s) => s !== undefined);
    if (samples.length > 0) listener(samples);
  });
}

/** The latest sample of every replica with fresh stats: what a stream's first snapshot holds. */
export function latestSamples(window: StatsWindow, nowMs: number): StatsSample[] {
  return latestReplicaStats(window, nowMs)
    .map((r) => sampleOf(r, nowMs))
    .filter((s) => s !== undefined);
}

export function usageOf(stats: NodeStats, nowMs: number): NodeUsage | undefined {
  if (stats.cpu_percent === null) return undefined;
  return {
    node_id: stats.node,
    at: stats.at ?? new Date(nowMs).toISOString(),
    cpu_percent: stats.cpu_percent,
    cpu_count: stats.cpu_count,
    memory_used_bytes: stats.memory_used_bytes,
    memory_total_bytes: stats.memory_total_bytes,
  };
}

export function subscribeNodeUsage(
  window: StatsWindow,
  now: () => number,
  listener: (usage: NodeUsage) => void,
): () => void {
  return window.subscribe((nodeId) => {
    const series = window.node(nodeId);
    const stats = series && nodeStatsOf(series);
    const usage = stats && usageOf(stats, now());
    if (usage) listener(usage);
  });
}

/** The latest host usage of every node with fresh stats. */
export function latestUsage(window: StatsWindow, nowMs: number): NodeUsage[] {
  return latestNodeStats(window, nowMs)
    .map((n) => usageOf(n, nowMs))
    .filter((u) => u !== undefined);
}
