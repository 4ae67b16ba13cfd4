/**
 * Names that would answer twice on one network: a service's aliases (and its own name) against
 * the names and aliases of every other service that shares a network with it. DNS on a network
 * must give one answer per name, so the deploy that would make two is refused, naming the holder.
 */
import type { ServiceSpec } from '../model/service-spec.ts';

export interface AliasConflict {
  readonly name: string;
  /** The service that answers to `name` already, on `network`. */
  readonly heldBy: string;
  readonly network: string;
}

type Named = Pick<ServiceSpec, 'name' | 'networks' | 'aliases'>;

export function aliasConflict(spec: Named, others: readonly Named[]): AliasConflict | undefined {
  const ownAliases = spec.aliases ?? [];
  for (const other of others) {
    if (other.name === spec.name) continue;
    const network = other.networks.find((n) => spec.networks.includes(n));
    if (network === undefined) continue;
    const theirs = new Set([other.name, ...(other.aliases ?? [])]);
    const clash = ownAliases.find((alias) => theirs.has(alias));
    if (clash !== undefined) return { name: clash, heldBy: other.name, network };
    if (other.aliases?.includes(spec.name)) return { name: spec.name, heldBy: other.name, network };
  }
  return undefined;
}

export function describeAliasConflict(conflict: AliasConflict): string {
  return `aliases: ${conflict.name} already answers for service ${conflict.heldBy} on network ${conflict.network}`;
}
