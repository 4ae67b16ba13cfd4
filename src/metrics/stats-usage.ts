/**
 * The stats window (src/stats) as the metrics' usage source: the latest sample of every live
 * replica and node. Stale nodes and gone replicas are left out by the window itself. Read straight
 * from each series' newest sample: a scrape needs the counters, not the rates and percentages of
 * `stats-view.ts` (which at 1,000 replicas cost a scrape more than its text).
 *
 * For the scrape, each node's lines are kept encoded (`textPieces`): built when the node's stats
 * message arrives (once anything has scraped; before that, no one reads them) and reused until
 * its next one, so a scrape joins a hundred nodes' pieces instead of writing seven thousand lines.
 * A node's pieces are checked against the window before use: a replica another node took over, or
 * a node gone stale, is never served from them.
 */
import type { NodeSeries, ReplicaSeries, StatsWindow } from '../stats/stats-window.ts';
import type { NodeUsage, ReplicaUsage, UsageSource } from './usage-families.ts';
import { USAGE_HEADERS, usageNodePieces } from './usage-families.ts';

const HEADERS = USAGE_HEADERS.map((header) => Buffer.from(header));

interface NodePieces {
  /** The window's series of the node when they were built: stale as soon as it has another. */
  readonly node: NodeSeries;
  readonly replicas: readonly ReplicaSeries[];
  readonly pieces: readonly Buffer[];
}

export function statsUsage(window: StatsWindow, now: () => number): StatsUsage {
  return new StatsUsage(window, now);
}

export class StatsUsage implements UsageSource {
  readonly #window: StatsWindow;
  readonly #now: () => number;
  readonly #kept = new Map<string, NodePieces>();
  #scraped = false;

  constructor(window: StatsWindow, now: () => number) {
    this.#window = window;
    this.#now = now;
    window.subscribe((nodeId) => {
      if (this.#scraped) this.#build(nodeId);
    });
  }

  replicas(): ReplicaUsage[] {
    return this.#window
      .replicas(this.#now())
      .map(replicaUsage)
      .filter((r) => r !== undefined);
  }

  nodes(): NodeUsage[] {
    return this.#window
      .nodes(this.#now())
      .map(nodeUsage)
      .filter((n) => n !== undefined);
  }

  textPieces(): Buffer[] {
    this.#scraped = true;
    const nowMs = this.#now();
    // Every node with fresh stats: those with a node sample, and any whose replicas have one.
    const nodeIds = new Set(this.#window.nodes(nowMs).map((n) => n.nodeId));
    for (const series of this.#window.replicas(nowMs)) nodeIds.add(series.nodeId);
    for (const nodeId of this.#kept.keys()) if (!nodeIds.has(nodeId)) this.#kept.delete(nodeId);
    const nodes = [...nodeIds].sort().map((nodeId) => {
      const kept = this.#kept.get(nodeId);
      return kept !== undefined && this.#current(nodeId, kept) ? kept : this.#build(nodeId);
    });
    const out: Buffer[] = [];
    for (const [index, header] of HEADERS.entries()) {
      out.push(header);
      for (const node of nodes) {
        const piece = node?.pieces[index];
        if (piece !== undefined && piece.length > 0) out.push(piece);
      }
    }
    return out;
  }

  /** Whether `kept` still says what the window holds for the node. */
  #current(nodeId: string, kept: NodePieces): boolean {
    if (this.#window.node(nodeId) !== kept.node) return false;
    return kept.replicas.every((series) => this.#window.replica(series.taskId) === series);
  }

  #build(nodeId: string): NodePieces | undefined {
    const node = this.#window.node(nodeId);
    if (node === undefined) {
      this.#kept.delete(nodeId);
      return undefined;
    }
    const replicas = this.#window.replicasOfNode(nodeId, this.#now());
    const rows = replicas.map(replicaUsage).filter((r) => r !== undefined);
    const kept: NodePieces = {
      node,
      replicas,
      pieces: usageNodePieces(nodeUsage(node), rows).map((piece) => Buffer.from(piece)),
    };
    this.#kept.set(nodeId, kept);
    return kept;
  }
}

function replicaUsage(series: ReplicaSeries): ReplicaUsage | undefined {
  const latest = series.samples.last();
  if (latest === undefined) return undefined;
  return {
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
  };
}

function nodeUsage(series: NodeSeries): NodeUsage | undefined {
  const latest = series.samples.last();
  if (latest === undefined) return undefined;
  return {
    node: series.nodeId,
    cpuSeconds: latest.cpu_seconds,
    cpuCount: latest.cpu_count,
    memoryUsedBytes: latest.memory_used_bytes,
    memoryTotalBytes: latest.memory_total_bytes,
    diskUsedBytes: latest.disk_used_bytes,
    diskTotalBytes: latest.disk_total_bytes,
  };
}
