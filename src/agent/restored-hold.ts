/**
 * Whether a restarted agent may (re)start the replicas of the assignment it restored from disk
 * that do not run, or must first hear from the server. Pure: time comes in.
 *
 * The saved assignment is what the node ran when its agent (or its host) went away. If the node
 * was called down meanwhile, the server has moved those slots elsewhere, and its next assignment
 * stops them here: restarting them before it arrives runs each of those slots twice for the time
 * a connection and a welcome take (0.3-2 s on the lab). So until the server has answered (its
 * welcome, then its assignment: `warm` in the loop), the restored assignment only keeps what
 * still runs (an agent restart moves nothing, and stops nothing), and starts nothing.
 *
 * The hold is bounded, because the saved assignment exists for a server that is away: a node
 * whose server stays silent must get its work back. The bound is the time after which the server,
 * alive and not hearing from this node, would have called it down anyway (its replicas moved, or
 * not, whatever the agent does now): past it, holding on buys nothing. The agent cannot know the
 * server's `--heartbeat-timeout` and `--node-down-after`; it knows the heartbeat interval the
 * server last told it (saved with the assignment), and the server's default timing follows from
 * that interval (server/node-liveness.ts `DEFAULT_LIVENESS`, `livenessFor`): a node whose
 * connection dropped is down after 3 s; one that went silent (a power loss, its connection left
 * open) is unreachable after three intervals (1.5 s at the base 0.5 s beat, SILENT_INTERVALS) and
 * down 1.5 s later. So: three saved intervals and 1.5 s, never less than 3 s (3 s in clusters of up
 * to 40 nodes, or for a file saved before the interval was; 31.5–39 s at 1,000 nodes, a 10–12.5 s
 * beat).
 * Under a longer `--node-down-after` (the lab's 10 s) a server that stays away past the bound gets
 * the replicas started before it would call the node down: nothing has moved then, unless the
 * indirect probes called it down at once, which is a partition's double run, as today. Under a
 * shorter one the agent waits past the down, for nothing but the server's answer. A refusing server
 * (another cluster, a protocol too old) never answers: the bound ends the hold, as for one away.
 */

import { SILENT_INTERVALS } from './server-silence.ts';

/** The server's default node-down grace (server/node-liveness.ts `DEFAULT_LIVENESS.downAfterMs`). */
export const DEFAULT_NODE_DOWN_AFTER_MS = 3000;
/** What the default grace adds to the heartbeat timeout (3 s − 1.5 s), whatever the interval. */
export const DEFAULT_DOWN_AFTER_TIMEOUT_MS = 1500;

/** How long a restarted agent waits for the server before starting its saved assignment's replicas. */
export function restoredHoldMs(heartbeatIntervalMs: number | undefined): number {
  const silentDownMs = SILENT_INTERVALS * (heartbeatIntervalMs ?? 0) + DEFAULT_DOWN_AFTER_TIMEOUT_MS;
  return Math.max(DEFAULT_NODE_DOWN_AFTER_MS, silentDownMs);
}

export type RestoredStarts =
  /** Create, start and replace as the converger decides. */
  | { readonly kind: 'free' }
  /** Start nothing that does not run (keep what does) before `untilMs` (epoch ms). */
  | { readonly kind: 'held'; readonly untilMs: number };

export interface RestoredStartsInput {
  /** The server has sent this process an assignment (after its welcome). */
  readonly serverAnswered: boolean;
  /** When the desired set was restored from disk; undefined: it never was (a fresh agent). */
  readonly restoredAt: number | undefined;
  /** `restoredHoldMs` of the saved heartbeat interval. */
  readonly holdMs: number;
  readonly now: number;
}

export function restoredStarts(input: RestoredStartsInput): RestoredStarts {
  if (input.serverAnswered || input.restoredAt === undefined) return { kind: 'free' };
  const untilMs = input.restoredAt + input.holdMs;
  return input.now < untilMs ? { kind: 'held', untilMs } : { kind: 'free' };
}
