/**
 * How long the agent waits before dialling the server again. A dropped connection is retried
 * fast (capped well under the server's down grace, so a returning server hears from the agent in
 * time); a refusal (the agent belongs to another cluster) cannot heal by itself, so retries back
 * off to one every 30 s: often enough to notice a fix, rare enough to keep logs and the server quiet.
 */
export type DialFailure = 'dropped' | 'refused';

const SCHEDULE: Record<DialFailure, { readonly firstMs: number; readonly maxMs: number }> = {
  dropped: { firstMs: 250, maxMs: 1000 },
  refused: { firstMs: 1000, maxMs: 30_000 },
};

/** `failures` counts this kind of failure in a row, the current one included (1 for the first). */
export function reconnectDelayMs(failure: DialFailure, failures: number): number {
  const { firstMs, maxMs } = SCHEDULE[failure];
  return Math.min(firstMs * 2 ** Math.max(0, Math.min(failures - 1, 30)), maxMs);
}
