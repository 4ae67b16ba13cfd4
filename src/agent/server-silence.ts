/**
 * How long the agent lets its server be silent (no pong, no message) before it drops the
 * connection and dials again, and so how often it pings: four pings in that time. Pings cost the
 * server like heartbeats do (a TLS record in, one out), and heartbeats slow down as the cluster
 * grows (server/node-liveness.ts): so do pings. Until the welcome says the interval, and in a
 * cluster of up to 250 nodes (heartbeats every 0.5 s … 1 s), the server may be silent 2 s; at
 * 1,000 nodes (a 4 s heartbeat), 8 s, and the server answers 500 pings a second, not 2,000.
 */

export const BASE_SERVER_SILENCE_MS = 2000;
/** Pings within one silence limit. */
export const PINGS_PER_SILENCE = 4;

export function serverSilenceMs(heartbeatIntervalMs: number | undefined): number {
  return Math.max(BASE_SERVER_SILENCE_MS, 2 * (heartbeatIntervalMs ?? 0));
}

/** What the liveness timer does at `now`: drop the connection, ping, or nothing. */
export function livenessAction(
  now: number,
  lastHeardAt: number,
  lastPingAt: number,
  silenceMs: number,
): 'drop' | 'ping' | 'wait' {
  if (now - lastHeardAt > silenceMs) return 'drop';
  if (now - lastPingAt >= silenceMs / PINGS_PER_SILENCE) return 'ping';
  return 'wait';
}
