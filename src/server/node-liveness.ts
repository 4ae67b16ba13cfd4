/**
 * Node liveness: ready while its agent is connected and heard from; unreachable the moment the
 * connection drops, or when heartbeats stop (partition, power loss); down once it has been
 * silent past a grace, which is when its replicas move. The grace is what lets an agent restart
 * without moving anything. Pure: time comes in.
 */
import type { NodeStatus } from '../model/node.ts';

export interface LivenessSettings {
  /** Silence after which a connected node counts as unreachable. */
  readonly heartbeatTimeoutMs: number;
  /** Silence after which a node is down and its replicas are rescheduled. */
  readonly downAfterMs: number;
}

export const DEFAULT_LIVENESS: LivenessSettings = { heartbeatTimeoutMs: 1500, downAfterMs: 3000 };

/**
 * After the server itself starts, known nodes get this long to reconnect before any is called
 * down: their agents may be waiting out a reconnect backoff, and nothing is known of them yet.
 */
export const STARTUP_GRACE_MS = 10_000;

export interface LivenessInput {
  readonly connected: boolean;
  /** The last sign of life: a message from the agent, or the moment its connection dropped. */
  readonly lastSeen: number;
  /** Not down before this time (the server's startup grace). */
  readonly downNotBefore: number;
}

export function livenessStatus(input: LivenessInput, now: number, settings: LivenessSettings): NodeStatus {
  const silentMs = now - input.lastSeen;
  if (input.connected && silentMs <= settings.heartbeatTimeoutMs) return 'ready';
  return silentMs >= settings.downAfterMs && now >= input.downNotBefore ? 'down' : 'unreachable';
}
