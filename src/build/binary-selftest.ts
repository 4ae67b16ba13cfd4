/**
 * `skiff __binary-selftest` (binary only, hidden): loads what a bundle can break and prints one
 * JSON line of what it found. etcd3 parses its .proto files when it is loaded, so requiring it is
 * the check that the bundle carries them; node:sqlite must open a database; the dashboard assets
 * are listed when the build embedded them; the Node options it runs with (no re-exec), and its code cache.
 */
import { DatabaseSync } from 'node:sqlite';
import { Etcd3 } from 'etcd3';
import { buildInfo } from './build-info.ts';
import { dashboardAssets } from './embedded-assets.ts';

export function runSelftest(): number {
  const db = new DatabaseSync(':memory:');
  const sqlite = db.prepare('select sqlite_version() as v').get()?.v;
  db.close();
  // Constructing the client builds its gRPC stubs from the parsed protos; no connection is made.
  const etcd = new Etcd3({ hosts: '127.0.0.1:1', dialTimeout: 1 });
  const etcdServices = typeof etcd.kv === 'object' && typeof etcd.lease === 'function';
  etcd.close();
  const assets = dashboardAssets();
  const report = {
    sqlite,
    etcdServices,
    assets: assets === undefined ? null : { origin: assets.origin, files: assets.list().length },
    build: buildInfo(),
    execPath: process.execPath,
    // A command other than the agent's: the SEA's execArgv alone (bin/node-flags' common lines).
    nodeOptions: process.execArgv,
    // Which code cache the loader (sea-main.ts) offered V8, and whether V8 took it.
    codeCache: (globalThis as Record<symbol, unknown>)[Symbol.for('skiff.codeCache')] ?? null,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return typeof sqlite === 'string' && etcdServices ? 0 : 1;
}
