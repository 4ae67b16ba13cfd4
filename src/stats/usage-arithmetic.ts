/**
 * The arithmetic over two samples of cumulative counters: CPU % the way `docker stats` shows it
 * (100% is one core busy for the whole interval, so a 4-core hog shows 400%), rates of byte
 * counters, and shares of a limit. Pure; null where the two samples say nothing (the same moment,
 * or a counter that went backwards: a restarted container or host).
 */

/** Two readings of one cumulative counter, with the (same) clock they were taken on. */
export interface CounterReading {
  readonly atMs: number;
  readonly value: number;
}

/** Units per second between two readings; null when no time passed or the counter was reset. */
export function ratePerSecond(previous: CounterReading, next: CounterReading): number | null {
  const elapsedMs = next.atMs - previous.atMs;
  if (!(elapsedMs > 0)) return null;
  const delta = next.value - previous.value;
  if (delta < 0) return null;
  return (delta * 1000) / elapsedMs;
}

/** CPU seconds used per wall second, as a percentage of one core (docker stats' CPU %). */
export function cpuPercentOfOneCore(previous: CounterReading, next: CounterReading): number | null {
  const rate = ratePerSecond(previous, next);
  return rate === null ? null : rate * 100;
}

/** Busy share of the whole host (0–100 whatever the core count), as `top`'s summary shows it. */
export function cpuPercentOfHost(
  previous: CounterReading,
  next: CounterReading,
  cpuCount: number,
): number | null {
  const rate = ratePerSecond(previous, next);
  if (rate === null || !(cpuCount > 0)) return null;
  return Math.min(100, (rate * 100) / cpuCount);
}

/** `part` as a percentage of `whole`; null without a whole. */
export function percentOf(part: number, whole: number | null): number | null {
  if (whole === null || !(whole > 0)) return null;
  return (part * 100) / whole;
}
