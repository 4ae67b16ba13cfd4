/**
 * The `stats` message: an agent's resource-usage sample of its node and of every replica it runs,
 * sent every `--stats-interval` (5 s) to a server whose welcome lists the `stats` feature.
 *
 * Counters are cumulative since the container started (CPU seconds, bytes), as cAdvisor's
 * `container_*_total` are: rates and CPU % are the server's arithmetic over two samples, so a lost
 * message loses no CPU time. The envelope is checked with the message; each sample is read on its
 * own (`readStatsSamples`), and one a peer got wrong is dropped, never a reason to close the link:
 * stats are advisory, and a newer agent may report fields or shapes this server does not know.
 */
import { z } from 'zod';
import { epochMsSchema, idTextSchema } from '../model/bounds.ts';

/** Far above the replicas one node runs; the bound on one message's work for the server. */
export const MAX_STATS_REPLICAS = 5000;

/** A non-negative count a peer sends (bytes, seconds, pids): finite, exact as a double. */
const amount = z.number().min(0).max(Number.MAX_SAFE_INTEGER);

/** One replica's container, as the engine measured it at `at`. */
export const replicaSampleSchema = z.object({
  task_id: idTextSchema,
  service: idTextSchema,
  slot: z.int().min(0).max(1_000_000),
  container_id: idTextSchema,
  /** Agent clock, epoch ms: when the engine read this container. */
  at: epochMsSchema,
  /** CPU time used since the container started, all cores, seconds. */
  cpu_seconds: amount,
  /** Memory in use minus inactive file cache (what the OOM killer weighs; cAdvisor's working set). */
  memory_working_set_bytes: amount,
  /** The container's memory limit; null when it has none (the host's memory bounds it). */
  memory_limit_bytes: amount.nullable(),
  network_rx_bytes: amount,
  network_tx_bytes: amount,
  block_read_bytes: amount,
  block_write_bytes: amount,
  pids: amount.optional(),
});
export type ReplicaSampleWire = z.infer<typeof replicaSampleSchema>;

/** The node's own usage: the host's CPU and memory, and the engine's data-root filesystem. */
export const nodeSampleSchema = z.object({
  at: epochMsSchema,
  /** Non-idle CPU time since boot, all cores, seconds. */
  cpu_seconds: amount,
  cpu_count: z.int().min(1).max(100_000),
  /** MemTotal − MemAvailable. */
  memory_used_bytes: amount,
  memory_total_bytes: amount,
  disk_path: z.string().max(4096),
  disk_used_bytes: amount,
  disk_total_bytes: amount,
});
export type NodeSampleWire = z.infer<typeof nodeSampleSchema>;

/** The message as the union reads it: samples are checked one by one afterwards. */
export const statsMessageSchema = z.object({
  type: z.literal('stats'),
  /** The agent's sampling interval, so the server knows when a node's stats have gone stale. */
  interval_ms: z.int().min(100).max(3_600_000),
  node: z.unknown().optional(),
  replicas: z.array(z.unknown()).max(MAX_STATS_REPLICAS),
});
export type StatsMessage = z.infer<typeof statsMessageSchema>;

export interface StatsSamples {
  readonly node: NodeSampleWire | undefined;
  readonly replicas: readonly ReplicaSampleWire[];
  /** Samples that failed their schema and were left out. */
  readonly dropped: number;
}

/** The samples of a stats message that are well formed; the rest are counted and left out. */
export function readStatsSamples(message: StatsMessage): StatsSamples {
  let dropped = 0;
  const replicas: ReplicaSampleWire[] = [];
  for (const raw of message.replicas) {
    const parsed = replicaSampleSchema.safeParse(raw);
    if (parsed.success) replicas.push(parsed.data);
    else dropped += 1;
  }
  let node: NodeSampleWire | undefined;
  if (message.node !== undefined) {
    const parsed = nodeSampleSchema.safeParse(message.node);
    if (parsed.success) node = parsed.data;
    else dropped += 1;
  }
  return { node, replicas, dropped };
}
