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
 * server's `--node-down-after`; it knows the heartbeat interval the server last told it (saved with
 * the assignment), and the server derives its timing from that interval: by default it beats every
 * 0.5 s, calls a node unreachable after three silent intervals (1.5 s, the `--heartbeat-timeout`)
 * and down after twice that (3 s, server/node-liveness.ts DEFAULT_LIVENESS). So: six intervals,
 * never less than the default grace of 3 s (a small cluster, or a file saved before the interval
 * was). A server told a longer `--node-down-after` simply answers first; one told a shorter one
 * has called the node down sooner, and the agent waits for nothing but its answer.
 */

/** The server's default node-down grace (server/node-liveness.ts `DEFAULT_LIVENESS.downAfterMs`). */
export const DEFAULT_NODE_DOWN_AFTER_MS = 3000;
/** The default grace in heartbeat intervals: a 1.5 s heartbeat timeout of three 0.5 s beats, twice. */
export const NODE_DOWN_AFTER_INTERVALS = 6;

/** How long a restarted agent waits for the server before starting its saved assignment's replicas. */
export function restoredHoldMs(heartbeatIntervalMs: number | undefined): number {
  return Math.max(DEFAULT_NODE_DOWN_AFTER_MS, NODE_DOWN_AFTER_INTERVALS * (heartbeatIntervalMs ?? 0));
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
