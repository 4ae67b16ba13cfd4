/**
 * Node liveness: ready while its agent is connected and heard from; unreachable the moment the
 * connection drops, or when heartbeats stop (partition, power loss); down once it has been
 * silent past a grace, which is when its replicas move. The grace is what lets an agent restart
 * without moving anything. Pure: time comes in.
 *
 * Heartbeats scale with the cluster: an agent is told to beat every `heartbeatIntervalMs(base,
 * nodes)`, so the server hears at most about MAX_HEARTBEATS_PER_S of them, and its node's silence
 * is judged by `livenessFor` that interval (timeouts grow with it; small clusters keep the base).
 * A dropped connection is evidence, not silence: its node is down after the base grace whatever
 * the interval. Clearer evidence ends the grace: other agents failing to reach the node's
 * replicas (indirect probes, node-probes.ts) make it down at once.
 */
import type { NodeStatus } from '../model/node.ts';

export interface LivenessSettings {
  /** Silence after which a connected node counts as unreachable. */
  readonly heartbeatTimeoutMs: number;
  /** Silence after which a node is down and its replicas are rescheduled. */
  readonly downAfterMs: number;
  /**
   * Silence after which a node whose connection is still open is down (its heartbeats stopped):
   * `downAfterMs` when absent.
   */
  readonly silentDownAfterMs?: number;
}

/**
 * The most heartbeats a second the server should have to handle, whatever the cluster's size. Each
 * is a ping read and a pong written over mutual TLS (about 110 µs of the server's CPU each on the
 * bench VM, README): at 250 a second (280 heard, agents re-told at 1.25x growth) they were most
 * of an idle 1,000-node server's CPU. 100 gives a 10–12.5 s interval at 1,000 nodes, so a silent
 * node (not a dropped connection, which is down after the base grace) is down 31.5–39 s after
 * its last beat, or sooner when indirect probes fail (node-probes.ts). Nomad's servers hold their
 * clients to 50 a second (`max_heartbeats_per_second`).
 */
export const MAX_HEARTBEATS_PER_S = 100;

/**
 * Agents are re-told a longer interval once the cluster has grown by this factor: a cluster
 * joined one node at a time re-tells each agent a few times, not at every join. Only ever longer:
 * a shorter interval judged before the agent took it would call it silent.
 */
export const RETELL_GROWTH = 1.25;

/**
 * The heartbeat interval to tell an agent joining a cluster of `nodes`: the base, or the interval
 * that keeps the server at MAX_HEARTBEATS_PER_S with RETELL_GROWTH times as many nodes. Told
 * ahead so the rate stays at or under the cap until the agents are re-told (`retoldIntervalMs`):
 * at every size, each agent beats at most once per `nodes / MAX_HEARTBEATS_PER_S` seconds.
 */
export function heartbeatIntervalMs(baseMs: number, nodes: number): number {
  return Math.max(baseMs, Math.ceil((nodes * RETELL_GROWTH * 1000) / MAX_HEARTBEATS_PER_S));
}

/**
 * The interval to tell an agent now beating every `toldMs`, when a newcomer is told `wantedMs`
 * (`heartbeatIntervalMs` at the cluster's size now), or undefined: it is fine as it is. Re-told
 * only once `toldMs` is shorter than the cap allows now (`wantedMs / RETELL_GROWTH`), so the
 * cluster must grow 25% between re-tellings, and the rate never goes past the cap.
 */
export function retoldIntervalMs(toldMs: number, wantedMs: number): number | undefined {
  return toldMs * RETELL_GROWTH < wantedMs ? wantedMs : undefined;
}

/**
 * The liveness timing for a node told to beat every `intervalMs` when the base settings were
 * made for `baseIntervalMs`: the heartbeat timeout grows in proportion, the grace after it stays.
 */
export function livenessFor(
  base: LivenessSettings,
  baseIntervalMs: number,
  intervalMs: number,
): LivenessSettings {
  if (intervalMs <= baseIntervalMs) return base;
  const heartbeatTimeoutMs = Math.round((base.heartbeatTimeoutMs * intervalMs) / baseIntervalMs);
  const graceMs = (base.silentDownAfterMs ?? base.downAfterMs) - base.heartbeatTimeoutMs;
  return {
    heartbeatTimeoutMs,
    downAfterMs: base.downAfterMs,
    silentDownAfterMs: heartbeatTimeoutMs + graceMs,
  };
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
  /**
   * Other agents could not reach its replicas since it went silent (indirect probes,
   * node-probe-plan.ts): the evidence is clear, so it is down without waiting out the grace.
   */
  readonly probedDown?: boolean;
}

export function livenessStatus(input: LivenessInput, now: number, settings: LivenessSettings): NodeStatus {
  const silentMs = now - input.lastSeen;
  if (input.connected && silentMs <= settings.heartbeatTimeoutMs) return 'ready';
  if (input.probedDown === true && now >= input.downNotBefore) return 'down';
  const downAfterMs = input.connected
    ? (settings.silentDownAfterMs ?? settings.downAfterMs)
    : settings.downAfterMs;
  return silentMs >= downAfterMs && now >= input.downNotBefore ? 'down' : 'unreachable';
}

/**
 * When a node that is unreachable at `now` turns down by time alone (epoch ms): its grace's end,
 * or the startup grace's when that is later; undefined for a node that is not unreachable then.
 * The controller runs a pass at that moment rather than at its next tick: the replicas of a node
 * called down move at once, not up to a tick (250 ms) after its grace.
 */
export function downAt(input: LivenessInput, now: number, settings: LivenessSettings): number | undefined {
  if (livenessStatus(input, now, settings) !== 'unreachable') return undefined;
  const downAfterMs = input.connected
    ? (settings.silentDownAfterMs ?? settings.downAfterMs)
    : settings.downAfterMs;
  // Probed down: down once the startup grace is over, whatever its silence.
  const graceEnds = input.probedDown === true ? input.downNotBefore : input.lastSeen + downAfterMs;
  return Math.max(graceEnds, input.downNotBefore);
}

/**
 * Nodes whose graces end within this of the first one's are called down in one pass, at the last
 * of their graces: hosts that die together (a rack, a switch) drop their connections over tens of
 * ms as the server gets to each close (100 killed at once on the bench: over 94 ms), and a pass
 * for each few of them would place, write and send the failover in pieces, each piece paced
 * after the last one's pass.
 */
export const DOWN_TOGETHER_MS = 150;

/**
 * When a pass should call down the first group of nodes turning down (`downAt` of each): the
 * last end of a grace within DOWN_TOGETHER_MS of the earliest; undefined when there is none.
 */
export function groupDownAt(downAts: Iterable<number>): number | undefined {
  const sorted = [...downAts].sort((a, b) => a - b);
  const first = sorted[0];
  if (first === undefined) return undefined;
  let last = first;
  for (const at of sorted) if (at <= first + DOWN_TOGETHER_MS) last = at;
  return last;
}
