/**
 * The JSON of the stats routes, as zod schemas: what `GET /api/stats` answers, what the CLI and
 * the dashboard parse, and what the OpenAPI document shows.
 */
import { z } from 'zod';

const bytes = z.number().min(0);
const percent = z.number().min(0).nullable();

export const replicaStatsSchema = z.object({
  task_id: z.string(),
  service: z.string(),
  slot: z.int().min(0),
  /** `service-slot`, as `skiff ps` names replicas. */
  replica: z.string(),
  node: z.string(),
  container_id: z.string(),
  /** When the engine read the container (agent clock), RFC 3339. */
  at: z.string().nullable(),
  /** Of one core, as docker stats shows it (a busy 2-core container: 200); null until two samples. */
  cpu_percent: percent,
  /** Cumulative CPU seconds since the container started (a counter: resets with a new container). */
  cpu_seconds: z.number().min(0),
  memory_working_set_bytes: bytes,
  /** Null: no limit of its own (then memory_percent is of the node's memory, as docker stats does). */
  memory_limit_bytes: bytes.nullable(),
  memory_percent: percent,
  network_rx_bytes: bytes,
  network_tx_bytes: bytes,
  network_rx_bytes_per_second: bytes.nullable(),
  network_tx_bytes_per_second: bytes.nullable(),
  block_read_bytes: bytes,
  block_write_bytes: bytes,
  pids: z.number().min(0).nullable(),
});
export type ReplicaStats = z.infer<typeof replicaStatsSchema>;

export const nodeStatsSchema = z.object({
  node: z.string(),
  at: z.string().nullable(),
  /** Busy share of the whole host, 0–100; null until two samples. */
  cpu_percent: percent,
  cpu_count: z.int().min(1),
  /** Cumulative non-idle CPU seconds since boot, all cores. */
  cpu_seconds: z.number().min(0),
  memory_used_bytes: bytes,
  memory_total_bytes: bytes,
  memory_percent: percent,
  /** The engine's data root, whose filesystem the disk figures are of. */
  disk_path: z.string(),
  disk_used_bytes: bytes,
  disk_total_bytes: bytes,
  disk_percent: percent,
});
export type NodeStats = z.infer<typeof nodeStatsSchema>;

/** `GET /api/stats` (and each line of `?follow=1`). */
export const clusterStatsSchema = z.object({
  /** Server clock, RFC 3339. */
  at: z.string(),
  replicas: z.array(replicaStatsSchema),
  nodes: z.array(nodeStatsSchema),
});
export type ClusterStats = z.infer<typeof clusterStatsSchema>;

/** `GET /api/services/{name}/stats` (and each line of `?follow=1`). */
export const serviceStatsSchema = z.object({
  at: z.string(),
  service: z.string(),
  replicas: z.array(replicaStatsSchema),
});
export type ServiceStats = z.infer<typeof serviceStatsSchema>;
