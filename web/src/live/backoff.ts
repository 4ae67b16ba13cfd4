/**
 * Reconnect delays: doubling from `baseMs` to `maxMs`, with full jitter so that a server restart
 * is not met by every tab at the same instant. Pure: the random number is passed in.
 */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const RECONNECT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/** The delay before attempt `attempt` (0 for the first retry); `random` in [0, 1). */
export function backoffDelayMs(attempt: number, random: number, options = RECONNECT_BACKOFF): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  // Half fixed, half jitter: never much sooner than the schedule, never in lockstep.
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
