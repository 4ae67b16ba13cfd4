/**
 * The cluster's address pool is chosen once, at its first start, and kept in the store with the
 * cluster id: every network and service address was allocated from it, so a later start may not
 * change it. Pure: what is stored and what was asked in, the pool to run with out.
 */
import type { AddressPool } from '../model/addressing.ts';
import { DEFAULT_ADDRESS_POOL, parseAddressPool } from '../model/addressing.ts';

export const POOL_META_KEY = 'address_pool';

/** A start asked for a pool other than the one the cluster was created with. */
export class AddressPoolMismatchError extends Error {
  override readonly name = 'AddressPoolMismatchError';
}

export interface PoolDecision {
  readonly pool: AddressPool;
  /** True when the pool is to be written to the store (a new cluster, or one from before pools). */
  readonly store: boolean;
}

/**
 * `stored` is the store's pool; `clusterExists` whether the store already had a cluster id (a
 * cluster from before pools were configurable ran on the default one); `given` is
 * `--address-pool`, already validated, or undefined when not given.
 */
export function decidePool(input: {
  readonly stored: string | undefined;
  readonly clusterExists: boolean;
  readonly given: AddressPool | undefined;
  readonly dataDir: string;
}): PoolDecision {
  const { given, dataDir } = input;
  const stored = input.stored ?? (input.clusterExists ? DEFAULT_ADDRESS_POOL : undefined);
  if (stored === undefined) return { pool: given ?? parseAddressPool(DEFAULT_ADDRESS_POOL), store: true };
  const pool = parseAddressPool(stored);
  if (given !== undefined && given.cidr !== pool.cidr) {
    throw new AddressPoolMismatchError(
      `the cluster in ${dataDir} was created with --address-pool ${pool.cidr} and cannot move to ${given.cidr} ` +
        '(its networks and service addresses are allocated from it). Start it without --address-pool, ' +
        `or with --address-pool ${pool.cidr}; for a new cluster on ${given.cidr}, use another --data-dir.`,
    );
  }
  return { pool, store: input.stored === undefined };
}
