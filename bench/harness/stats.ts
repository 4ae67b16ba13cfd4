/**
 * The statistics the benches report: median, nearest-rank percentile, mean, and the union length
 * of time intervals. Plain functions over unsorted lists (each sorts a copy), so a caller never
 * has to remember whether its samples were sorted.
 */

/** The median; the mean of the two middle values for an even count. NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * The p-th percentile (0 < p ≤ 100) by nearest rank: the smallest value with at least p% of the
 * values at or below it (the p95 of 20 values is the 19th smallest).
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

/**
 * The median by nearest rank (the p50): the lower middle value of an even count, always one of
 * the samples. The scheduler benches report it so, and keep doing so to stay comparable.
 */
export function nearestRankMedian(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The mean; 0 for no values. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sum of the lengths of `intervals` after merging overlaps: how long at least one was open. */
export function coveredMs(intervals: readonly { start: number; end: number }[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let open: { start: number; end: number } | undefined;
  for (const interval of sorted) {
    if (open && interval.start <= open.end)
      open = { start: open.start, end: Math.max(open.end, interval.end) };
    else {
      if (open) total += open.end - open.start;
      open = { ...interval };
    }
  }
  if (open) total += open.end - open.start;
  return total;
}
