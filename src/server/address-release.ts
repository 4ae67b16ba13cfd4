/**
 * When a network's or a service's addresses go back to the pool. An index no service and no task
 * uses any more is not free at once: every host's DNS and data plane may still point at it. It is
 * released once every connected agent has acknowledged an endpoint set without it (the
 * `endpoints` generation current when it fell out of use, or a later one) and one DNS TTL has
 * passed since the last of those acknowledgements, so no cached answer still names it.
 *
 * Agents not connected are not waited for (a host that is gone must not hold the pool): on
 * reconnect an agent is sent the whole current set before anything else of the data plane.
 *
 * Pure and level-triggered: the pending set lives in memory only. After a server restart every
 * unused index starts over (new acknowledgements, a new TTL): later, never wrong.
 */

export type AllocationKind = 'network' | 'service';

export interface Allocation {
  readonly kind: AllocationKind;
  readonly name: string;
  readonly index: number;
}

export interface PendingRelease {
  /** The endpoints generation every agent must have acknowledged. */
  readonly generation: number;
  /** When the last agent acknowledged it; null while some have not. */
  readonly ackedAt: number | null;
}

export interface ReleaseInput {
  readonly allocations: readonly Allocation[];
  /** Names in use: by a service's spec, or by tasks still on their way out. */
  readonly networksInUse: ReadonlySet<string>;
  readonly servicesInUse: ReadonlySet<string>;
  readonly pending: ReadonlyMap<string, PendingRelease>;
  /** The endpoints generation last sent. */
  readonly generation: number;
  /**
   * The generation each connected agent acknowledged; undefined for an agent that cannot
   * acknowledge (older than the feature), which cannot hold the pool forever.
   */
  readonly acknowledged: readonly (number | undefined)[];
  readonly now: number;
  readonly holdMs: number;
}

export interface ReleasePlan {
  readonly pending: Map<string, PendingRelease>;
  readonly release: readonly Allocation[];
}

export function allocationKey(kind: AllocationKind, name: string): string {
  return `${kind}/${name}`;
}

export function planRelease(input: ReleaseInput): ReleasePlan {
  const pending = new Map<string, PendingRelease>();
  const release: Allocation[] = [];
  for (const allocation of input.allocations) {
    const inUse =
      allocation.kind === 'network'
        ? input.networksInUse.has(allocation.name)
        : input.servicesInUse.has(allocation.name);
    if (inUse) continue;
    const key = allocationKey(allocation.kind, allocation.name);
    const known = input.pending.get(key) ?? { generation: input.generation, ackedAt: null };
    const everyoneAcked = input.acknowledged.every(
      (acked) => acked === undefined || acked >= known.generation,
    );
    const ackedAt = known.ackedAt ?? (everyoneAcked ? input.now : null);
    if (ackedAt !== null && input.now - ackedAt >= input.holdMs) release.push(allocation);
    else pending.set(key, { generation: known.generation, ackedAt });
  }
  return { pending, release };
}
