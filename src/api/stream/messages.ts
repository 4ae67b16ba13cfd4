/**
 * Every message of the live stream (`GET /api/stream`, a WebSocket) and of its polling fallback
 * (`GET /api/stream/snapshot`), and the session view (`/api/session`): one file, imported by the
 * server, `skiff top` and the dashboard alike. Browser-safe: zod and src/model only.
 *
 * Versioning: a stream has an `epoch` (one per server process) and a `seq` that counts the
 * server's changes. A snapshot is the state at `seq`; a `changes` message takes a client from
 * `from` to `seq`. A client that sees another epoch, or a `from` that is not the last `seq` it
 * applied, has missed something: it drops its state and asks for a snapshot (`{"type":"resync"}`)
 * or reconnects. The server itself sends `resync` and then a snapshot to a client that fell behind.
 * The shape of these messages is stable: fields may be added, none removed or retyped.
 */
import { z } from 'zod';
import { roleSchema } from '../../auth/roles.ts';
import { eventSchema } from '../../model/event.ts';
import { containerViewSchema, nodeViewSchema, serviceViewSchema } from '../../model/views.ts';

export const STREAM_PATH = '/api/stream';
export const SNAPSHOT_PATH = '/api/stream/snapshot';
export const STREAM_PROTOCOL = 1;

/** WebSocket close codes the stream uses (4000–4999 are the application's). */
export const STREAM_CLOSE_CODES = {
  /** The session or token ended (signed out, token removed or expired): sign in again. */
  unauthorized: 4401,
  /** The client sent something that is not a client message. */
  badMessage: 4400,
  /** The server is shutting down: reconnect (with backoff) to it or another server. */
  serverShutdown: 1001,
} as const;

// Session ---------------------------------------------------------------------------------------

export const sessionViewSchema = z.object({
  /** The token's name (`admin` for the admin token). */
  name: z.string(),
  role: roleSchema,
  /** `session`: a dashboard cookie; `bearer`: an Authorization header. */
  via: z.enum(['session', 'bearer']),
  /** Send as `X-CSRF-Token` on every POST/PUT/DELETE made with the cookie; null for bearer callers. */
  csrf_token: z.string().nullable(),
  /** When the session ends at the latest; null for bearer callers. */
  expires_at: z.string().nullable(),
});
export type SessionView = z.infer<typeof sessionViewSchema>;

// Rows ------------------------------------------------------------------------------------------

/** One replica, keyed by `task_id`: a `ContainerView` (as in `ServiceView.containers`) with its service. */
export const taskViewSchema = containerViewSchema.extend({ service: z.string() });
export type TaskView = z.infer<typeof taskViewSchema>;

/**
 * One resource sample of a replica (from src/stats' window: `GET /api/stats` has the full rows).
 * Sent after each agent report (every 5 s by default) for that node's replicas, from a replica's
 * second sample on (CPU % takes two).
 */
export const statsSampleSchema = z.object({
  task_id: z.string(),
  service: z.string(),
  /** The slot name, `api-server-0`. */
  container: z.string(),
  node_id: z.string().nullable(),
  /** ISO time of the sample. */
  at: z.string(),
  /** Share of one CPU core, in percent (200 = two cores busy). */
  cpu_percent: z.number(),
  /** The working set (usage less inactive file cache), as `docker stats` and `kubectl top` count it. */
  memory_bytes: z.number(),
  /** Null: no limit of its own. */
  memory_limit_bytes: z.number().nullable(),
  /** Bytes received and sent since the container started (counters). */
  net_rx_bytes: z.number().nullable().default(null),
  net_tx_bytes: z.number().nullable().default(null),
});
export type StatsSample = z.infer<typeof statsSampleSchema>;

/**
 * A node's own usage, as its agent measures the host (src/stats' `NodeStats`): what the whole
 * machine uses, not only Skiff's replicas. Sent after each of that agent's reports, from its
 * second on (CPU % takes two).
 */
export const nodeUsageSchema = z.object({
  node_id: z.string(),
  /** ISO time of the sample. */
  at: z.string(),
  /** Busy share of the whole host, 0–100. */
  cpu_percent: z.number(),
  cpu_count: z.int().min(1),
  memory_used_bytes: z.number(),
  memory_total_bytes: z.number(),
});
export type NodeUsage = z.infer<typeof nodeUsageSchema>;

// Server → client -------------------------------------------------------------------------------

const versionFields = {
  epoch: z.string(),
  seq: z.int().nonnegative(),
  /** ISO time the server sent it. */
  at: z.string(),
};

/** The whole state, first on every connection and after every resync. */
export const snapshotMessageSchema = z.object({
  type: z.literal('snapshot'),
  protocol: z.literal(STREAM_PROTOCOL),
  ...versionFields,
  /** Who the stream is for (the dashboard offers actions by role). */
  principal: z.object({ name: z.string(), role: roleSchema }),
  /** As `GET /api/services` (containers included), by name. */
  services: z.array(serviceViewSchema),
  /** Every replica shown in some service's containers, by service then slot. */
  tasks: z.array(taskViewSchema),
  /** As `GET /api/nodes`. */
  nodes: z.array(nodeViewSchema),
  /** The most recent events (at most `RECENT_EVENTS`), oldest first. */
  events: z.array(eventSchema),
  /** The latest sample of each replica; empty while the server has no stats. */
  stats: z.array(statsSampleSchema),
  /** The latest usage of each node's host (absent from servers before it). */
  node_usage: z.array(nodeUsageSchema).optional(),
});
export type SnapshotMessage = z.infer<typeof snapshotMessageSchema>;

export const RECENT_EVENTS = 200;

const upsertsOf = <T extends z.ZodType>(row: T) =>
  z.object({
    /** Rows new or changed, whole (replace the cached row). */
    upsert: z.array(row),
    /** Keys of rows gone: service names, task ids, node ids. */
    remove: z.array(z.string()),
  });

/**
 * What changed since `from`, topic by topic (a topic with nothing new is absent). The server sends
 * at most 10 of these a second per client; a burst in between is folded into one. Node upserts are
 * not sent for a heartbeat alone: `last_heartbeat` is as of the node's last other change.
 */
export const changesMessageSchema = z.object({
  type: z.literal('changes'),
  ...versionFields,
  from: z.int().nonnegative(),
  services: upsertsOf(serviceViewSchema).optional(),
  tasks: upsertsOf(taskViewSchema).optional(),
  nodes: upsertsOf(nodeViewSchema).optional(),
  /** New events, oldest first. */
  events: z.array(eventSchema).optional(),
  /** New samples (the latest per replica since the last message). */
  stats: z.array(statsSampleSchema).optional(),
  /** New host usage (the latest per node since the last message). */
  node_usage: z.array(nodeUsageSchema).optional(),
});
export type ChangesMessage = z.infer<typeof changesMessageSchema>;

/** The client fell behind (or asked): drop the state, a snapshot follows. */
export const resyncMessageSchema = z.object({ type: z.literal('resync'), reason: z.string() });
export type ResyncMessage = z.infer<typeof resyncMessageSchema>;

/** Sent every 15 s when nothing else was: a client that hears nothing for 45 s should reconnect. */
export const heartbeatMessageSchema = z.object({ type: z.literal('heartbeat'), ...versionFields });
export type HeartbeatMessage = z.infer<typeof heartbeatMessageSchema>;

/** Why the server is about to close the stream (the close code says the same). */
export const errorMessageSchema = z.object({ type: z.literal('error'), error: z.string() });

export const serverMessageSchema = z.discriminatedUnion('type', [
  snapshotMessageSchema,
  changesMessageSchema,
  resyncMessageSchema,
  heartbeatMessageSchema,
  errorMessageSchema,
]);
export type StreamServerMessage = z.infer<typeof serverMessageSchema>;

export const HEARTBEAT_INTERVAL_MS = 15_000;

// Client → server -------------------------------------------------------------------------------

/** `resync`: send me a fresh snapshot (after a gap). Anything else closes the stream (4400). */
export const clientMessageSchema = z.discriminatedUnion('type', [z.object({ type: z.literal('resync') })]);
export type StreamClientMessage = z.infer<typeof clientMessageSchema>;

/** Parses one text frame from the server; a frame of unknown shape is `undefined`, never a throw. */
export function parseServerMessage(text: string): StreamServerMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = serverMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
