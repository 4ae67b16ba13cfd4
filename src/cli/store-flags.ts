/**
 * The store's flags (`--store etcd://…`, `--etcd-ca`, `--etcd-cert`, `--etcd-key`) read into a
 * location, for `skiff server`, `up` and the store commands. Apart from store-commands.ts, which
 * imports the etcd store: a SQLite server never loads etcd's client (test/server-footprint.test.ts).
 */
import { resolve } from 'node:path';
import type { StoreLocation } from '../store/store-url.ts';
import { parseStoreUrl, StoreUrlError } from '../store/store-url.ts';
import { UsageError } from './errors.ts';

/** `--store` and the `--etcd-*` TLS files, as a location (undefined: not given). */
export function etcdLocationFromFlags(values: {
  store?: string;
  'etcd-ca'?: string;
  'etcd-cert'?: string;
  'etcd-key'?: string;
}): StoreLocation | undefined {
  if ((values['etcd-cert'] === undefined) !== (values['etcd-key'] === undefined))
    throw new UsageError('--etcd-cert and --etcd-key go together');
  if (values['etcd-cert'] !== undefined && values['etcd-ca'] === undefined)
    throw new UsageError('--etcd-cert needs --etcd-ca (the CA etcd’s own certificate is checked against)');
  if (values.store === undefined) {
    if (values['etcd-ca'] || values['etcd-cert'])
      throw new UsageError('--etcd-ca/--etcd-cert need --store etcd://…');
    return undefined;
  }
  try {
    return parseStoreUrl(values.store, {
      ...(values['etcd-ca'] ? { caFile: resolve(values['etcd-ca']) } : {}),
      ...(values['etcd-cert'] ? { certFile: resolve(values['etcd-cert']) } : {}),
      ...(values['etcd-key'] ? { keyFile: resolve(values['etcd-key']) } : {}),
    });
  } catch (error) {
    if (error instanceof StoreUrlError) throw new UsageError(error.message);
    throw error;
  }
}
