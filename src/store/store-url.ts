/**
 * Where the store is: `--store etcd://HOST:PORT,HOST:PORT[/prefix]` (with `--etcd-ca`,
 * `--etcd-cert`, `--etcd-key` for TLS to etcd) or, by default, SQLite in the data dir. Parsing
 * is pure; `openStore` opens the one named.
 */
import { join } from 'node:path';
import type { EtcdTlsFiles } from './etcd/etcd-client.ts';
import { DEFAULT_ETCD_PREFIX } from './etcd/etcd-layout.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | {
      readonly kind: 'etcd';
      /** host:port each, in the URL's order. */
      readonly endpoints: readonly string[];
      readonly prefix: string;
      readonly tls: EtcdTlsFiles;
    };

export class StoreUrlError extends Error {
  override readonly name = 'StoreUrlError';
}

/** `etcd://h1:2379,h2:2379/prefix` → endpoints and prefix; TLS files when given. */
export function parseStoreUrl(text: string, tls: EtcdTlsFiles = {}): StoreLocation {
  const match = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(text.trim());
  if (!match?.[1])
    throw new StoreUrlError(`--store: expected etcd://HOST:PORT[,HOST:PORT…][/prefix], got ${text}`);
  const endpoints = match[1].split(',').map((e) => e.trim());
  for (const endpoint of endpoints) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(endpoint))
      throw new StoreUrlError(`--store: "${endpoint}" is not HOST:PORT`);
  }
  const prefix = (match[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '' && !/^(\/[A-Za-z0-9._-]+)+$/.test(prefix))
    throw new StoreUrlError(
      `--store: the prefix ${prefix} may hold only letters, digits, '.', '_', '-' and '/'`,
    );
  return { kind: 'etcd', endpoints, prefix: prefix || DEFAULT_ETCD_PREFIX, tls };
}

export function sqliteLocation(dataDir: string): StoreLocation {
  return { kind: 'sqlite', path: join(dataDir, 'skiff.db') };
}

export function describeLocation(location: StoreLocation): string {
  return location.kind === 'sqlite'
    ? location.path
    : `etcd://${location.endpoints.join(',')}${location.prefix}`;
}

export async function openStore(location: StoreLocation, log: (message: string) => void): Promise<Store> {
  if (location.kind === 'sqlite') return new SqliteStore(location.path);
  // etcd's client (etcd3, @grpc/grpc-js, protobufjs: some 200 modules) only for an etcd store: a
  // SQLite server never loads it (test/server-footprint.test.ts).
  const { EtcdStore } = await import('./etcd/etcd-store.ts');
  const secure = location.tls.caFile !== undefined || location.tls.certFile !== undefined;
  return await EtcdStore.open({
    endpoints: location.endpoints.map((e) => `${secure ? 'https' : 'http'}://${e}`),
    prefix: location.prefix,
    tls: location.tls,
    log,
  });
}
