import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAddressPool } from '../model/addressing.ts';
import { AddressPoolMismatchError, decidePool } from './stored-pool.ts';

const dataDir = '/var/lib/skiff';
const pool = (text: string) => parseAddressPool(text);

test('a new cluster takes the given pool, or the default, and stores it', () => {
  assert.deepEqual(
    decidePool({ stored: undefined, clusterExists: false, given: pool('10.96.0.0/14'), dataDir }),
    {
      pool: pool('10.96.0.0/14'),
      store: true,
    },
  );
  const fallback = decidePool({ stored: undefined, clusterExists: false, given: undefined, dataDir });
  assert.equal(fallback.pool.cidr, '10.240.0.0/12');
  assert.equal(fallback.store, true);
});

test('a later start keeps the stored pool, with or without the same flag', () => {
  for (const given of [undefined, pool('10.96.0.0/14')]) {
    const decision = decidePool({ stored: '10.96.0.0/14', clusterExists: true, given, dataDir });
    assert.equal(decision.pool.cidr, '10.96.0.0/14');
    assert.equal(decision.store, false);
  }
});

test('a later start with another pool is refused, naming both pools and the data dir', () => {
  assert.throws(
    () => decidePool({ stored: '10.96.0.0/14', clusterExists: true, given: pool('10.231.0.0/16'), dataDir }),
    (error: unknown) =>
      error instanceof AddressPoolMismatchError &&
      error.message.includes('/var/lib/skiff') &&
      error.message.includes('--address-pool 10.96.0.0/14') &&
      error.message.includes('10.231.0.0/16'),
  );
});

test('a cluster from before pools were stored ran on the default pool, and keeps it', () => {
  const kept = decidePool({ stored: undefined, clusterExists: true, given: undefined, dataDir });
  assert.equal(kept.pool.cidr, '10.240.0.0/12');
  assert.equal(kept.store, true);
  assert.throws(
    () => decidePool({ stored: undefined, clusterExists: true, given: pool('10.96.0.0/14'), dataDir }),
    AddressPoolMismatchError,
  );
});
