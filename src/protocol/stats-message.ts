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
import { epochMsSchema, idTextSchema, MAX_EPOCH_MS } from '../model/bounds.ts';

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

/**
 * The samples of a stats message that are well formed; the rest are counted and left out. Each is
 * read by `readReplicaSample` / `readNodeSample`: what the schemas above accept, and the same
 * value they give (stats-message.test.ts checks both on seeded inputs), without a schema walk:
 * 1,000 nodes send 2,000 replica samples a second, and zod took about 9 µs each.
 */
export function readStatsSamples(message: StatsMessage): StatsSamples {
  let dropped = 0;
  const replicas: ReplicaSampleWire[] = [];
  for (const raw of message.replicas) {
    const sample = readReplicaSample(raw);
    if (sample) replicas.push(sample);
    else dropped += 1;
  }
  let node: NodeSampleWire | undefined;
  if (message.node !== undefined) {
    node = readNodeSample(message.node);
    if (!node) dropped += 1;
  }
  return { node, replicas, dropped };
}

const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

/** `amount`: a number in [0, MAX_SAFE_INTEGER] (NaN fails every comparison). */
function isAmount(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_AMOUNT;
}

function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_EPOCH_MS;
}

/** A string's length as zod measures it: in code points (a surrogate pair is one). */
function codePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}

/** At most `max` code points: counted only when the UTF-16 units are more (a code point is one or two). */
function fitsIn(text: string, max: number): boolean {
  return text.length <= max || codePoints(text) <= max;
}

/** `idTextSchema`: 1 … 256 code points (any string of one unit or more has one). */
function isIdText(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && fitsIn(value, 256);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What `replicaSampleSchema.safeParse(raw)` gives when it succeeds (the known fields only), else undefined. */
export function readReplicaSample(raw: unknown): ReplicaSampleWire | undefined {
  if (!isRecord(raw)) return undefined;
  const { task_id, service, slot, container_id, at, cpu_seconds, memory_working_set_bytes } = raw;
  const { memory_limit_bytes, network_rx_bytes, network_tx_bytes, block_read_bytes, block_write_bytes } = raw;
  if (!isIdText(task_id) || !isIdText(service) || !isIdText(container_id)) return undefined;
  if (!Number.isInteger(slot) || (slot as number) < 0 || (slot as number) > 1_000_000) return undefined;
  if (!isEpochMs(at) || !isAmount(cpu_seconds) || !isAmount(memory_working_set_bytes)) return undefined;
  if (memory_limit_bytes !== null && !isAmount(memory_limit_bytes)) return undefined;
  if (!isAmount(network_rx_bytes) || !isAmount(network_tx_bytes)) return undefined;
  if (!isAmount(block_read_bytes) || !isAmount(block_write_bytes)) return undefined;
  const sample: ReplicaSampleWire = {
    task_id,
    service,
    slot: slot as number,
    container_id,
    at,
    cpu_seconds,
    memory_working_set_bytes,
    memory_limit_bytes,
    network_rx_bytes,
    network_tx_bytes,
    block_read_bytes,
    block_write_bytes,
  };
  // Optional: absent stays absent; present, it is an amount or undefined (zod keeps the key).
  if ('pids' in raw) {
    const pids = raw.pids;
    if (pids !== undefined && !isAmount(pids)) return undefined;
    sample.pids = pids;
  }
  return sample;
}

/** What `nodeSampleSchema.safeParse(raw)` gives when it succeeds (the known fields only), else undefined. */
export function readNodeSample(raw: unknown): NodeSampleWire | undefined {
  if (!isRecord(raw)) return undefined;
  const { at, cpu_seconds, cpu_count, memory_used_bytes, memory_total_bytes } = raw;
  const { disk_path, disk_used_bytes, disk_total_bytes } = raw;
  if (!isEpochMs(at) || !isAmount(cpu_seconds)) return undefined;
  if (!Number.isInteger(cpu_count) || (cpu_count as number) < 1 || (cpu_count as number) > 100_000)
    return undefined;
  if (!isAmount(memory_used_bytes) || !isAmount(memory_total_bytes)) return undefined;
  if (typeof disk_path !== 'string' || !fitsIn(disk_path, 4096)) return undefined;
  if (!isAmount(disk_used_bytes) || !isAmount(disk_total_bytes)) return undefined;
  return {
    at,
    cpu_seconds,
    cpu_count: cpu_count as number,
    memory_used_bytes,
    memory_total_bytes,
    disk_path,
    disk_used_bytes,
    disk_total_bytes,
  };
}
