/**
 * The live stream's messages, as the server defines them (src/api/stream/messages.ts: one file
 * for the server, `skiff top` and this dashboard). Imported as types only, so zod stays out of the
 * bundle; frames are told apart by their `type` here, and the server (same origin, the one this
 * page came from) is trusted for their shape.
 */
import type { StreamServerMessage } from '../../../src/api/stream/messages.ts';

export type {
  ChangesMessage,
  NodeUsage,
  SessionView,
  SnapshotMessage,
  StatsSample,
  StreamServerMessage,
  TaskView,
} from '../../../src/api/stream/messages.ts';

/** The values of src/api/stream/messages.ts the page needs (importing that file would bundle zod). */
export const STREAM_PATH = '/api/stream';
export const SNAPSHOT_PATH = '/api/stream/snapshot';
export const UNAUTHORIZED_CLOSE_CODE = 4401;
/** The server sends a heartbeat after 15 s of quiet; three missed and the socket is presumed dead. */
export const SILENCE_LIMIT_MS = 45_000;

const KNOWN = new Set(['snapshot', 'changes', 'resync', 'heartbeat', 'error']);

/** A parsed frame, or undefined for what this dashboard does not know (a newer server's message). */
export function parseMessage(text: string): StreamServerMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && KNOWN.has(type) ? (value as StreamServerMessage) : undefined;
}
