/**
 * The server's short memory of resource usage: per replica and per node, a ring of the last
 * `capacity` samples (default 60: five minutes at the agents' 5 s), never a store row. Memory is
 * bounded by what is live: a node's message lists every replica it runs, so a replica missing from
 * it is gone and forgotten; a replica whose container changed starts a fresh series (its counters
 * restarted); a node silent for three of its intervals is stale (left out of reads) and
 * forgotten by a message from any node a second or more after the last such (`prune`), and `forgetNode` drops a node at once.
 *
 * Time: samples carry the agent's clock (`at`, used for rates, both ends from one clock); staleness
 * is judged on the server's clock, when the message arrived, so a skewed agent clock cannot make
 * its stats look fresh or old.
 */
import type { NodeSampleWire, ReplicaSampleWire, StatsSamples } from '../protocol/stats-message.ts';
import type { ColumnSpec } from './column-ring.ts';
import { ColumnRing } from './column-ring.ts';

export const DEFAULT_WINDOW_CAPACITY = 60;
/** What the latest figures need of a series: the newest sample and the one before (for rates). */
export const LATEST_SAMPLES = 2;
/** A node that has sent nothing for this many of its intervals has stale stats. */
const STALE_AFTER_INTERVALS = 3;

/**
 * A replica's reading as kept: the wire sample without who it is (the series says that once), so
 * a window holds numbers, not 60 copies of its ids.
 */
export type ReplicaSample = Omit<ReplicaSampleWire, 'task_id' | 'service' | 'slot' | 'container_id'>;

/** A replica's sample as columns of numbers (column-ring.ts): 72 bytes where an object took ~150. */
const REPLICA_COLUMNS: readonly ColumnSpec<keyof ReplicaSample>[] = [
  { name: 'at' },
  { name: 'cpu_seconds' },
  { name: 'memory_working_set_bytes' },
  { name: 'memory_limit_bytes', nullable: true },
  { name: 'network_rx_bytes' },
  { name: 'network_tx_bytes' },
  { name: 'block_read_bytes' },
  { name: 'block_write_bytes' },
  { name: 'pids', optional: true },
];

const NODE_COLUMNS: readonly ColumnSpec<keyof NodeSampleWire>[] = [
  { name: 'at' },
  { name: 'cpu_seconds' },
  { name: 'cpu_count' },
  { name: 'memory_used_bytes' },
  { name: 'memory_total_bytes' },
  { name: 'disk_path', text: true },
  { name: 'disk_used_bytes' },
  { name: 'disk_total_bytes' },
];

export interface ReplicaSeries {
  readonly taskId: string;
  readonly service: string;
  readonly slot: number;
  readonly nodeId: string;
  readonly containerId: string;
  readonly samples: ColumnRing<ReplicaSample>;
}

export interface NodeSeries {
  readonly nodeId: string;
  readonly intervalMs: number;
  /** Server clock, epoch ms, of the last message from the node. */
  readonly receivedAtMs: number;
  readonly samples: ColumnRing<NodeSampleWire>;
  /** The replicas its last message listed. */
  readonly taskIds: ReadonlySet<string>;
}

export interface StatsWindowOptions {
  /** Samples kept per node, and per replica unless `replicaCapacity` says otherwise. */
  readonly capacity?: number;
  /**
   * Samples kept per replica of a service: only the autoscaler reads more than the latest two,
   * and 10,000 replicas' five minutes are 43 MiB (the server passes the full window for
   * autoscaled services, LATEST_SAMPLES for others). A series follows a change at its next sample.
   */
  readonly replicaCapacity?: (service: string) => number;
}

export type StatsListener = (nodeId: string) => void;

/** How often `record` forgets stale nodes (server clock, ms). */
const PRUNE_INTERVAL_MS = 1000;

export class StatsWindow {
  readonly #capacity: number;
  readonly #replicaCapacity: (service: string) => number;
  readonly #replicas = new Map<string, ReplicaSeries>();
  readonly #nodes = new Map<string, NodeSeries>();
  readonly #listeners = new Set<StatsListener>();
  #prunedAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: StatsWindowOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_WINDOW_CAPACITY;
    this.#capacity = capacity;
    this.#replicaCapacity = options.replicaCapacity ?? (() => capacity);
  }

  /**
   * Takes in one message's samples from `nodeId`, received at `receivedAtMs` (server clock), and
   * forgets nodes gone stale by then: the window needs no timer of its own.
   */
  record(nodeId: string, intervalMs: number, samples: StatsSamples, receivedAtMs: number): void {
    // Once a second, not at every message: 1,000 nodes send 200 a second, and each prune walks
    // every node. Reads judge staleness themselves, so a node forgotten a second late reads the same.
    if (receivedAtMs - this.#prunedAtMs >= PRUNE_INTERVAL_MS || receivedAtMs < this.#prunedAtMs) {
      this.#prunedAtMs = receivedAtMs;
      this.prune(receivedAtMs);
    }
    const previous = this.#nodes.get(nodeId);
    const nodeSamples = previous?.samples ?? new ColumnRing<NodeSampleWire>(this.#capacity, NODE_COLUMNS);
    if (samples.node) nodeSamples.push(samples.node);
    const taskIds = new Set<string>();
    for (const sample of samples.replicas) {
      taskIds.add(sample.task_id);
      let series = this.#replicas.get(sample.task_id);
      const capacity = this.#replicaCapacity(sample.service);
      // A new container restarted its counters; a replica another node reported is this one's now
      // (the other node's list no longer removes it: removal checks whose it is).
      if (series === undefined || series.containerId !== sample.container_id || series.nodeId !== nodeId) {
        series = {
          taskId: sample.task_id,
          service: sample.service,
          slot: sample.slot,
          nodeId,
          containerId: sample.container_id,
          samples: new ColumnRing<ReplicaSample>(capacity, REPLICA_COLUMNS),
        };
        this.#replicas.set(sample.task_id, series);
      } else if (series.samples.capacity !== capacity) {
        // Autoscaling was turned on or off for its service.
        series = { ...series, samples: series.samples.resized(capacity) };
        this.#replicas.set(sample.task_id, series);
      }
      // A repeated or older reading (a resent message) would make a zero-length interval. The ring
      // keeps the columns it names, so the wire sample goes in as it is (no copy without its ids).
      const lastAt = series.samples.lastValue('at');
      if (Number.isNaN(lastAt) || sample.at > lastAt) series.samples.push(sample);
    }
    for (const taskId of previous?.taskIds ?? []) {
      if (!taskIds.has(taskId) && this.#replicas.get(taskId)?.nodeId === nodeId)
        this.#replicas.delete(taskId);
    }
    this.#nodes.set(nodeId, { nodeId, intervalMs, receivedAtMs, samples: nodeSamples, taskIds });
    for (const listener of this.#listeners) listener(nodeId);
  }

  /** Forgets a node and its replicas (the node was removed). */
  forgetNode(nodeId: string): void {
    const node = this.#nodes.get(nodeId);
    if (!node) return;
    for (const taskId of node.taskIds)
      if (this.#replicas.get(taskId)?.nodeId === nodeId) this.#replicas.delete(taskId);
    this.#nodes.delete(nodeId);
  }

  /** Forgets every node (and its replicas) whose stats are stale at `nowMs`. */
  prune(nowMs: number): void {
    for (const node of [...this.#nodes.values()])
      if (this.#isStale(node, nowMs)) this.forgetNode(node.nodeId);
  }

  /** Every replica series of a node whose stats are fresh at `nowMs`. */
  replicas(nowMs: number): ReplicaSeries[] {
    const out: ReplicaSeries[] = [];
    for (const series of this.#replicas.values()) {
      const node = this.#nodes.get(series.nodeId);
      if (node && !this.#isStale(node, nowMs)) out.push(series);
    }
    return out;
  }

  /** The replica series its last message listed, if its stats are fresh at `nowMs`. */
  replicasOfNode(nodeId: string, nowMs: number): ReplicaSeries[] {
    const node = this.#nodes.get(nodeId);
    if (!node || this.#isStale(node, nowMs)) return [];
    const out: ReplicaSeries[] = [];
    for (const taskId of node.taskIds) {
      const series = this.#replicas.get(taskId);
      if (series?.nodeId === nodeId) out.push(series);
    }
    return out;
  }

  /** Every node series that is fresh at `nowMs` and has at least one node sample. */
  nodes(nowMs: number): NodeSeries[] {
    return [...this.#nodes.values()].filter((node) => node.samples.length > 0 && !this.#isStale(node, nowMs));
  }

  replica(taskId: string): ReplicaSeries | undefined {
    return this.#replicas.get(taskId);
  }

  node(nodeId: string): NodeSeries | undefined {
    return this.#nodes.get(nodeId);
  }

  /** How many series are held: what the memory bound is about. */
  get size(): { readonly replicas: number; readonly nodes: number } {
    return { replicas: this.#replicas.size, nodes: this.#nodes.size };
  }

  /** Calls `listener` after every recorded message; returns the unsubscribe. */
  subscribe(listener: StatsListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #isStale(node: NodeSeries, nowMs: number): boolean {
    return nowMs - node.receivedAtMs > STALE_AFTER_INTERVALS * node.intervalMs;
  }
}
