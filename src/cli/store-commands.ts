/**
 * Commands on the store itself, run beside the servers rather than through them:
 * `skiff store migrate --from DIR --to etcd://…` (a single-server cluster into etcd) and
 * `skiff snapshot save|restore FILE` on either store, like `nomad operator snapshot` and
 * `etcdctl snapshot`. The moving itself is src/store/store-transfer.ts.
 */
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EtcdStore } from '../store/etcd/etcd-store.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import {
  dumpStore,
  ETCD_SNAPSHOT_FORMAT,
  type EtcdSnapshot,
  etcdEntriesOf,
  eventRecordsOf,
  parseEtcdSnapshot,
  restorableEntries,
  snapshotKind,
  writeEtcdKeys,
} from '../store/store-transfer.ts';
import type { StoreLocation } from '../store/store-url.ts';
import { describeLocation, sqliteLocation } from '../store/store-url.ts';
import { noPositionals, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { StartupError, UsageError } from './errors.ts';
import { printText } from './output.ts';
import { defaultDataDir } from './process-commands.ts';
import { etcdLocationFromFlags } from './store-flags.ts';
import { commandUsage } from './usage.ts';

const say = (text: string) => process.stdout.write(`${text}\n`);

async function openEtcd(location: Extract<StoreLocation, { kind: 'etcd' }>): Promise<EtcdStore> {
  const secure = location.tls.caFile !== undefined || location.tls.certFile !== undefined;
  try {
    return await EtcdStore.open({
      endpoints: location.endpoints.map((e) => `${secure ? 'https' : 'http'}://${e}`),
      prefix: location.prefix,
      tls: location.tls,
      compactEveryMs: 0,
      alarmCheckMs: 0,
    });
  } catch (error) {
    throw new StartupError(error instanceof Error ? error.message : String(error));
  }
}

export async function runStore(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.store,
  });
  if (values.help) return printText(commandUsage('store'));
  const [action, ...rest] = positionals;
  noPositionals(rest);
  if (action !== 'migrate') throw new UsageError(`store: expected "migrate", got ${action ?? 'nothing'}`);
  if (!values.from) throw new UsageError('store migrate: --from DIR is required');
  if (!values.to) throw new UsageError('store migrate: --to etcd://… is required');
  const target = etcdLocationFromFlags({ ...values, store: values.to });
  if (target?.kind !== 'etcd') throw new UsageError('store migrate: --to must be etcd://…');
  const dir = resolve(values.from);
  const dbPath = join(dir, 'skiff.db');
  if (!existsSync(dbPath)) throw new StartupError(`store migrate: ${dbPath} does not exist`);
  const source = new SqliteStore(dbPath);
  const dump = dumpStore(source);
  await source.close();
  if (!dump.meta.some(([key]) => key === 'cluster_id'))
    throw new StartupError(`store migrate: ${dbPath} holds no cluster (no cluster id)`);
  const store = await openEtcd(target);
  try {
    await writeEtcdKeys(store.client, target.prefix, etcdEntriesOf(dump), eventRecordsOf(dump.events), {
      replace: values.force ?? false,
    });
  } catch (error) {
    throw new StartupError(`store migrate: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await store.close();
  }
  say(
    `copied ${dump.services.length} services, ${dump.tasks.length} tasks, ${dump.nodes.length} nodes and ${dump.events.length} events from ${dbPath} to ${describeLocation(target)}`,
  );
  say(`now start the server with: skiff server --data-dir ${dir} --store ${values.to}`);
  say(`(more servers: copy ${dir}/{ca.crt,ca.key,cluster.key,admin.token,join.token} to their data dirs)`);
}

export async function runSnapshot(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.snapshot,
  });
  if (values.help) return printText(commandUsage('snapshot'));
  const [action, file, ...rest] = positionals;
  noPositionals(rest);
  if (action !== 'save' && action !== 'restore')
    throw new UsageError(`snapshot: expected save or restore, got ${action ?? 'nothing'}`);
  if (!file) throw new UsageError(`snapshot ${action}: FILE is required`);
  const location =
    etcdLocationFromFlags(values) ?? sqliteLocation(resolve(values['data-dir'] ?? defaultDataDir()));
  const path = resolve(file);
  if (action === 'save') await saveSnapshot(location, path);
  else await restoreSnapshot(location, path, values.force ?? false);
}

export async function saveSnapshot(location: StoreLocation, file: string): Promise<string> {
  const temp = `${file}.partial-${process.pid}`;
  rmSync(temp, { force: true });
  if (location.kind === 'sqlite') {
    if (!existsSync(location.path)) throw new StartupError(`snapshot save: ${location.path} does not exist`);
    // VACUUM INTO reads one consistent state while the server keeps writing (WAL).
    const store = new SqliteStore(location.path);
    try {
      store.backupTo(temp);
    } finally {
      await store.close();
    }
    renameSync(temp, file);
    say(`saved ${location.path} to ${file}`);
    return file;
  }
  const store = await openEtcd(location);
  try {
    const { revision, entries } = await store.exportAll();
    const snapshot: EtcdSnapshot = {
      format: ETCD_SNAPSHOT_FORMAT,
      version: 1,
      prefix: location.prefix,
      revision,
      takenAt: new Date().toISOString(),
      entries,
    };
    writeFileSync(temp, JSON.stringify(snapshot), { mode: 0o600 });
    renameSync(temp, file);
    say(`saved ${entries.length} keys of ${describeLocation(location)} at revision ${revision} to ${file}`);
    return file;
  } finally {
    await store.close();
  }
}

export async function restoreSnapshot(location: StoreLocation, file: string, force: boolean): Promise<void> {
  if (!existsSync(file)) throw new StartupError(`snapshot restore: ${file} does not exist`);
  const kind = snapshotKind(file);
  if (location.kind === 'sqlite') {
    if (kind !== 'sqlite')
      throw new StartupError(
        `snapshot restore: ${file} is not an SQLite snapshot (an etcd one goes back with --store)`,
      );
    if (existsSync(location.path) && !force)
      throw new StartupError(
        `snapshot restore: ${location.path} exists (stop the server, then give --force to replace it)`,
      );
    const temp = `${location.path}.restoring`;
    copyFileSync(file, temp);
    // The old file's write-ahead log belongs to the old state: it must not be replayed onto the new.
    for (const suffix of ['-wal', '-shm']) rmSync(`${location.path}${suffix}`, { force: true });
    renameSync(temp, location.path);
    say(`restored ${file} to ${location.path}`);
    return;
  }
  const store = await openEtcd(location);
  try {
    if (kind === 'sqlite') {
      // An SQLite snapshot into etcd: the same as migrating it.
      const source = new SqliteStore(file);
      const dump = dumpStore(source);
      await source.close();
      await writeEtcdKeys(store.client, location.prefix, etcdEntriesOf(dump), eventRecordsOf(dump.events), {
        replace: force,
      });
    } else if (kind === 'etcd') {
      const { entries, events } = restorableEntries(parseEtcdSnapshot(readFileSync(file, 'utf8')));
      await writeEtcdKeys(store.client, location.prefix, entries, events, { replace: force });
    } else throw new StartupError(`snapshot restore: ${file} is not a Skiff snapshot`);
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError(`snapshot restore: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await store.close();
  }
  say(`restored ${file} to ${describeLocation(location)}`);
}
