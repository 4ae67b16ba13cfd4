/**
 * What `/api/stream` sends: a snapshot first (on every connect, so a reconnect resynchronises),
 * then changes. The server's message schemas are the source of truth; this is the reader's view
 * of them, tolerant of fields and message types it does not know.
 */
import type { ContainerView, NodeView, ServiceView, SkiffEvent } from '../api/types.ts';

/** One replica's resource use at one moment. */
export interface StatsSample {
  readonly service: string;
  readonly task_id: string;
  readonly node_id: string | null;
  /** Unix ms. */
  readonly at_ms: number;
  readonly cpu_millicores: number;
  readonly memory_bytes: number;
}

export interface SnapshotMessage {
  readonly type: 'snapshot';
  readonly services: readonly ServiceView[];
  readonly nodes: readonly NodeView[];
  /** Recent events, oldest first; absent when the server leaves them to `GET /api/events`. */
  readonly events?: readonly SkiffEvent[];
  readonly stats?: readonly StatsSample[];
}

export type ChangeMessage =
  | { readonly type: 'service'; readonly service: ServiceView }
  | { readonly type: 'service_removed'; readonly name: string }
  | { readonly type: 'task'; readonly service: string; readonly container: ContainerView }
  | { readonly type: 'task_removed'; readonly service: string; readonly task_id: string }
  | { readonly type: 'node'; readonly node: NodeView }
  | { readonly type: 'node_removed'; readonly id: string }
  | { readonly type: 'event'; readonly event: SkiffEvent }
  | { readonly type: 'stats'; readonly samples: readonly StatsSample[] };

export type StreamMessage = SnapshotMessage | ChangeMessage;

const KNOWN = new Set([
  'snapshot',
  'service',
  'service_removed',
  'task',
  'task_removed',
  'node',
  'node_removed',
  'event',
  'stats',
]);

/** A parsed frame, or undefined for what this dashboard does not know (a newer server's message). */
export function parseMessage(text: string): StreamMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && KNOWN.has(type) ? (value as StreamMessage) : undefined;
}
