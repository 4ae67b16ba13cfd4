/**
 * How long the agent lets its server be silent (no pong, no message) before it drops the
 * connection and dials again, and how often it pings for an answer. Pings cost the server like
 * heartbeats do (a TLS record in, and a pong out), and heartbeats slow down as the cluster grows
 * (server/node-liveness.ts): so do pings. Pure.
 *
 * Two ways, by what the welcome says:
 * - `heartbeats`: the agent beats with `heartbeat` messages and pings besides, four times per
 *   limit. Until the welcome says the interval, and in a cluster of up to 250 nodes (beats every
 *   0.5 s … 1 s), the server may be silent 2 s; at 1,000 nodes (a 4 s beat), 8 s. The server then
 *   reads 250 beats and 500 pings a second, and writes 500 pongs.
 * - `pings` (a welcome listing `ping-heartbeat`): the pings are the beats, one per heartbeat
 *   interval, and no `heartbeat` message is sent. Each side judges the other by three intervals
 *   (the server's heartbeat timeout is three: node-liveness.ts), never less than 2 s: 12 s at
 *   1,000 nodes. The server then reads 250 pings a second and writes 250 pongs, nothing else.
 */

export const BASE_SERVER_SILENCE_MS = 2000;
/** Pings within one silence limit, when heartbeats go as messages. */
export const PINGS_PER_SILENCE = 4;
/** Heartbeat intervals the server may be silent for, when the pings are the heartbeats. */
export const SILENT_INTERVALS = 3;

export type BeatWay = 'heartbeats' | 'pings';

export interface ServerSilence {
  /** Silence after which the connection is dropped. */
  readonly silenceMs: number;
  /** How often the liveness timer pings; undefined: it does not, the heartbeat timer's pings do. */
  readonly pingEveryMs: number | undefined;
}

/** Before a welcome: the base limit, pinged four times. */
export const UNWELCOMED_SILENCE: ServerSilence = serverSilence(undefined, 'heartbeats');

export function serverSilence(heartbeatIntervalMs: number | undefined, way: BeatWay): ServerSilence {
  const intervalMs = heartbeatIntervalMs ?? 0;
  if (way === 'pings')
    return {
      silenceMs: Math.max(BASE_SERVER_SILENCE_MS, SILENT_INTERVALS * intervalMs),
      pingEveryMs: undefined,
    };
  const silenceMs = Math.max(BASE_SERVER_SILENCE_MS, 2 * intervalMs);
  return { silenceMs, pingEveryMs: silenceMs / PINGS_PER_SILENCE };
}

/** The silence limit when heartbeats go as messages (the way of a server without `ping-heartbeat`). */
export function serverSilenceMs(heartbeatIntervalMs: number | undefined): number {
  return serverSilence(heartbeatIntervalMs, 'heartbeats').silenceMs;
}

/** What the liveness timer does at `now`: drop the connection, ping, or nothing. */
export function livenessAction(
  now: number,
  lastHeardAt: number,
  lastPingAt: number,
  silence: ServerSilence,
): 'drop' | 'ping' | 'wait' {
  if (now - lastHeardAt > silence.silenceMs) return 'drop';
  if (silence.pingEveryMs !== undefined && now - lastPingAt >= silence.pingEveryMs) return 'ping';
  return 'wait';
}
