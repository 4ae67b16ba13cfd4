/**
 * Migration and snapshots, round trip: an SQLite cluster copied into etcd reads back record for
 * record (same cluster id, task ids, node certificate serials, events in order); a snapshot of
 * either store restored into a fresh one does too; a target that holds a cluster is refused
 * unless forced.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sharedEtcdEndpoints, testPrefix } from '../../test/support/etcd.ts';
import { StartupError } from '../cli/errors.ts';
import { restoreSnapshot, saveSnapshot } from '../cli/store-commands.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import { EtcdStore } from './etcd/etcd-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';
import type { StoreDump } from './store-transfer.ts';
import {
  dumpStore,
  ETCD_SNAPSHOT_FORMAT,
  etcdEntriesOf,
  eventRecordsOf,
  restorableEntries,
  StoreNotEmptyError,
  writeEtcdKeys,
} from './store-transfer.ts';
import type { StoreLocation } from './store-url.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-transfer-'));
  dirs.push(dir);
  return dir;
}

/** A small cluster's worth of every kind of record. */
function populate(store: Store): void {
  const spec = serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', replicas: 2 });
  store.setMeta('cluster_id', 'cluster-1');
  store.setMeta('node_cert:host-1', '["0a1b"]');
  store.putService(spec, 1);
  store.putService({ ...spec, image: 'skiff-demo:v2' }, 2);
  store.allocate('network', 'default', 0, 15);
  store.allocate('service', 'web', 1, 100);
  store.upsertNode(
    'n1',
    {
      name: 'host-1',
      engine_id: 'e1',
      address: '10.0.0.1',
      labels: {},
      cpu_millicores: 2000,
      memory_bytes: 1 << 30,
      engine_version: '20.10',
    },
    3,
  );
  for (const slot of [0, 1]) {
    store.insertTask({
      id: `t${slot}`,
      service: 'web',
      slot,
      revision: 2,
      nodeId: 'n1',
      desiredState: 'running',
      pendingReason: null,
      createdAt: 4 + slot,
    });
  }
  for (let i = 0; i < 250; i++)
    store.appendEvent(
      { type: 'container', service: 'web', container: `web-${i % 2}`, node: 'n1', message: `e${i}` },
      10 + i,
    );
}

/** A dump without what legitimately differs between stores: event ids. */
function comparable(dump: StoreDump) {
  return { ...dump, events: dump.events.map(({ id: _id, ...rest }) => rest) };
}

async function etcdAt(prefix: string): Promise<EtcdStore> {
  return await EtcdStore.open({
    endpoints: await sharedEtcdEndpoints(),
    prefix,
    compactEveryMs: 0,
    alarmCheckMs: 0,
  });
}

test('an SQLite cluster copied into etcd reads back the same, and a second copy is refused', async () => {
  const dir = tempDir();
  const source = new SqliteStore(join(dir, 'skiff.db'));
  populate(source);
  const expected = comparable(dumpStore(source));
  await source.close();
  const prefix = testPrefix('migrate');
  const writer = await etcdAt(prefix);
  const dump = dumpStore(new SqliteStore(join(dir, 'skiff.db')));
  await writeEtcdKeys(writer.client, prefix, etcdEntriesOf(dump), eventRecordsOf(dump.events), {
    replace: false,
  });
  await assert.rejects(
    writeEtcdKeys(writer.client, prefix, etcdEntriesOf(dump), [], { replace: false }),
    StoreNotEmptyError,
  );
  await writer.close();
  const target = await etcdAt(prefix);
  try {
    const got = dumpStore(target);
    assert.deepEqual(comparable(got), expected);
    const ids = got.events.map((e) => e.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'events keep their order',
    );
    // The copy is a working store: the next revision follows the copied ones.
    const web = got.services[0];
    assert.ok(web);
    assert.equal(target.putService({ ...web.spec, image: 'skiff-demo:v3' }, 9).service.revision, 3);
    await target.durable();
  } finally {
    await target.close();
  }
});

test('snapshots: SQLite saved while open and restored; etcd saved at one revision and restored elsewhere', async () => {
  // SQLite: saved while the store is open, restored into another data dir.
  const dir = tempDir();
  const live = new SqliteStore(join(dir, 'skiff.db'));
  populate(live);
  const expected = comparable(dumpStore(live));
  const sqliteFile = join(tempDir(), 'cluster.snap');
  await saveSnapshot({ kind: 'sqlite', path: join(dir, 'skiff.db') }, sqliteFile);
  live.setMeta('after', 'the snapshot');
  await live.close();
  const restoreDir = tempDir();
  const sqliteTarget: StoreLocation = { kind: 'sqlite', path: join(restoreDir, 'skiff.db') };
  await restoreSnapshot(sqliteTarget, sqliteFile, false);
  await assert.rejects(restoreSnapshot(sqliteTarget, sqliteFile, false), StartupError);
  const restored = new SqliteStore(join(restoreDir, 'skiff.db'));
  assert.deepEqual(comparable(dumpStore(restored)), expected);
  await restored.close();

  // etcd: the SQLite snapshot goes into etcd (as a migration), is saved from there, and that
  // snapshot is restored under another prefix.
  const first: StoreLocation = { kind: 'etcd', endpoints: [], prefix: testPrefix('snap-a'), tls: {} };
  const endpoints = (await sharedEtcdEndpoints()).map((e) => e.replace(/^\w+:\/\//, ''));
  const a = { ...first, endpoints };
  await restoreSnapshot(a, sqliteFile, false);
  const etcdFile = join(tempDir(), 'etcd.snap');
  await saveSnapshot(a, etcdFile);
  const b: StoreLocation = { ...a, prefix: testPrefix('snap-b') };
  await restoreSnapshot(b, etcdFile, false);
  await assert.rejects(restoreSnapshot(b, etcdFile, false), /holds|cluster lives there/);
  const store = await etcdAt(b.prefix);
  try {
    const got = dumpStore(store);
    assert.deepEqual(comparable(got), expected);
    const ids = got.events.map((e) => e.id);
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => x - y),
    );
  } finally {
    await store.close();
  }
  // Forced, a restore replaces what is there.
  const c = await etcdAt(b.prefix);
  c.setMeta('cluster_id', 'another');
  await c.durable();
  await c.close();
  await restoreSnapshot(b, etcdFile, true);
  const d = await etcdAt(b.prefix);
  assert.equal(d.getMeta('cluster_id'), 'cluster-1');
  await d.close();
});

test('a restore leaves out the HA keys: a dead server’s leader key must not outlive its lease', () => {
  const { entries } = restorableEntries({
    format: ETCD_SNAPSHOT_FORMAT,
    version: 1,
    prefix: '/skiff',
    revision: 9,
    takenAt: '2026-12-01T00:00:00Z',
    entries: [
      { key: 'ha/leader', value: '{"id":"gone"}', create: 3 },
      { key: 'ha/servers/gone', value: '{}', create: 4 },
      { key: 'meta/cluster_id', value: '"c1"', create: 1 },
    ],
  });
  assert.deepEqual(
    entries.map((e) => e.key),
    ['meta/cluster_id'],
  );
});
