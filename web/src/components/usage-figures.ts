/**
 * A node's CPU or memory in words and as shares of its capacity: what is reserved (the replicas'
 * requests), what the host uses (its agent's measure of the whole machine) and, of that, what
 * Skiff's replicas use. Pure, for the usage bar.
 */

export interface UsageInput {
  readonly capacity: number;
  readonly allocated: number;
  /** The host's own usage; undefined until its agent has reported twice. */
  readonly host: number | undefined;
  /** The sum of its replicas' latest samples; undefined until they report. */
  readonly replicas: number | undefined;
}

export interface UsageFigures {
  readonly text: string;
  /** Shares of capacity, 0–100 (capped), for the bar's parts. */
  readonly allocatedPercent: number;
  readonly hostPercent: number | undefined;
  readonly replicasPercent: number | undefined;
  /** The host uses more than the node offers (or more than what is reserved plus what is free). */
  readonly overCapacity: boolean;
}

export function usageFigures(input: UsageInput, format: (n: number) => string): UsageFigures {
  const { capacity, allocated, host, replicas } = input;
  const share = (n: number) => (capacity > 0 ? Math.min(100, Math.max(0, (n / capacity) * 100)) : 0);
  const parts = [`${format(allocated)} reserved of ${format(capacity)}`];
  if (host !== undefined)
    parts.push(`host uses ${format(host)} (${Math.round(capacity > 0 ? (host / capacity) * 100 : 0)}%)`);
  if (replicas !== undefined) parts.push(`replicas ${format(replicas)}`);
  if (host === undefined && replicas === undefined) parts.push('usage not reported yet');
  return {
    text: parts.join(', '),
    allocatedPercent: share(allocated),
    hostPercent: host === undefined ? undefined : share(host),
    replicasPercent: replicas === undefined ? undefined : share(replicas),
    overCapacity: host !== undefined && host > capacity,
  };
}
