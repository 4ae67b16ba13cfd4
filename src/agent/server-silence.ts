/**
 * How long the agent lets its server be silent (no pong, no message) before it drops the
 * connection and dials again, and how often it pings for an answer. Pings cost the server like
 * heartbeats do (a TLS record in, and a pong out), and heartbeats slow down as the cluster grows
 * (server/node-liveness.ts): so do pings. Pure.
 *
 * Two ways, by what the welcome says:
 * - `heartbeats`: the agent beats with `heartbeat` messages and pings besides, four times per
 *   limit. Until the welcome says the interval, and in a cluster of up to 80 nodes (beats every
 *   0.5 s … 1 s), the server may be silent 2 s; at 1,000 nodes (a 10–12.5 s beat), 20–25 s. The
 *   server then reads at most 100 beats and 200 pings a second, and writes 200 pongs.
 * - `pings` (a welcome listing `ping-heartbeat`): the pings are the beats, one per heartbeat
 *   interval, and no `heartbeat` message is sent. Each side judges the other by three intervals
 *   (the server's heartbeat timeout is three: node-liveness.ts), never less than 2 s: 30–37.5 s
 *   at 1,000 nodes. The server then reads at most 100 pings a second and writes as many pongs,
 *   nothing else.
 *
 * `ServerBeat` is the one stateful piece: the beat timer and the ping bookkeeping of one agent's
 * connection, shared by the real agent (agent.ts) and the simulated one (sim/sim-agent.ts).
 */
import WebSocket from 'ws';

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

/**
 * The beats of one agent to its server and the silence it allows it: a heartbeat timer that sends
 * `heartbeat` messages or, to a server that counts pings as beats, pings; and when the current
 * connection was last pinged, for `livenessAction`.
 */
/** What a beat needs of a connection (a `ws` WebSocket). */
export interface BeatSocket {
  readonly readyState: number;
  ping(): void;
}

export class ServerBeat {
  readonly #socket: () => BeatSocket | undefined;
  readonly #sendHeartbeat: () => void;
  #timer: NodeJS.Timeout | undefined;
  #way: BeatWay = 'heartbeats';
  #silence: ServerSilence = UNWELCOMED_SILENCE;
  #lastPingAt = 0;
  /** The interval last told by a server; kept across reconnects (saved with the assignment: restored-hold.ts). */
  #intervalMs: number | undefined;

  /** `socket`: the current connection, asked at each beat; `sendHeartbeat`: one `heartbeat` message. */
  constructor(socket: () => BeatSocket | undefined, sendHeartbeat: () => void) {
    this.#socket = socket;
    this.#sendHeartbeat = sendHeartbeat;
  }

  /** The heartbeat interval a server last told, if any (it outlives the connection). */
  get intervalMs(): number | undefined {
    return this.#intervalMs;
  }

  /** How long the current server may be silent, and how often to ping it. */
  get silence(): ServerSilence {
    return this.#silence;
  }

  /** A new connection: no beats until its welcome, the base silence, never pinged. */
  reset(): void {
    this.stop();
    this.#way = 'heartbeats';
    this.#silence = UNWELCOMED_SILENCE;
    this.#lastPingAt = 0;
  }

  /** The welcome: beats every `intervalMs`, as pings when the server counts them (`ping-heartbeat`). */
  welcomed(intervalMs: number, way: BeatWay): void {
    this.#way = way;
    this.beatEvery(intervalMs);
  }

  /** Beats every `intervalMs` (the welcome's, or a later `heartbeat.interval`), silence judged by it. */
  beatEvery(intervalMs: number): void {
    clearInterval(this.#timer);
    const beat = this.#way === 'pings' ? () => this.ping(this.#socket()) : this.#sendHeartbeat;
    this.#timer = setInterval(beat, intervalMs);
    this.#intervalMs = intervalMs;
    this.#silence = serverSilence(intervalMs, this.#way);
  }

  /** What the liveness timer does at `now`, the server last heard at `lastHeardAt`. */
  action(now: number, lastHeardAt: number): 'drop' | 'ping' | 'wait' {
    return livenessAction(now, lastHeardAt, this.#lastPingAt, this.#silence);
  }

  ping(socket: BeatSocket | undefined): void {
    // ws throws on a ping before the handshake is done; the handshake has its own timeout.
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    socket.ping();
    this.#lastPingAt = Date.now();
  }

  /** The connection closed: no more beats. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
