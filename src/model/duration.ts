/**
 * Durations as users write them ("10s", "500ms", "1m30s") and as the code keeps them (milliseconds).
 */
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Parses "1m30s", "500ms", "2s"; a bare number means seconds. Returns undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  let total = 0;
  let index = 0;
  while (index < trimmed.length) {
    PART.lastIndex = index;
    const match = PART.exec(trimmed);
    if (!match?.[1] || !match[2]) return undefined;
    total += Number(match[1]) * (UNIT_MS[match[2]] ?? 0);
    index = PART.lastIndex;
  }
  return index === 0 ? undefined : Math.round(total);
}

export function formatDurationMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * The longest duration a spec may hold: an hour, for every interval, timeout, delay, drain and
 * grace. Kubernetes and Swarm take longer values, but nothing here needs them, and an hour keeps
 * every timer far inside what setTimeout can wait (past 2^31-1 ms it fires after 1 ms).
 */
export const MAX_SPEC_DURATION_MS = 3_600_000;

/** A duration field between `minMs` and `maxMs`, kept as text so specs echo back as written. */
export function durationWithin(minMs: number, maxMs = MAX_SPEC_DURATION_MS) {
  const range = `from ${formatDurationMs(minMs)} to ${formatDurationMs(maxMs)}`;
  return z
    .string()
    .max(64)
    .refine((value) => parseDurationMs(value) !== undefined, {
      message: 'must be a duration such as "500ms", "10s" or "1m"',
      abort: true,
    })
    .refine(
      (value) => {
        const ms = parseDurationMs(value) ?? Number.NaN;
        return ms >= minMs && ms <= maxMs;
      },
      { message: `must be ${range}` },
    );
}

/** A duration field from 0 to an hour. */
export const durationSchema = durationWithin(0);

/** The longest delay setTimeout honours; a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay setTimeout can take: never negative, never past its limit (a NaN waits the longest). */
export function timerDelayMs(ms: number): number {
  if (Number.isNaN(ms)) return MAX_TIMER_MS;
  return Math.min(Math.max(ms, 0), MAX_TIMER_MS);
}
