/**
 * Restart backoff: the first restart is immediate, then the delay doubles from `delay` up to
 * `max_delay`. Failures are counted since the replica last ran stably.
 */
import { parseDurationMs } from '../model/duration.ts';
import type { RestartPolicy } from '../model/service-spec.ts';

export function backoffMs(consecutiveFailures: number, policy: RestartPolicy): number {
  if (consecutiveFailures <= 1) return 0;
  const base = parseDurationMs(policy.delay) ?? 1000;
  const cap = parseDurationMs(policy.max_delay) ?? 60_000;
  return Math.min(base * 2 ** (consecutiveFailures - 2), cap);
}
