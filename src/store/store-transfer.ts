/**
 * Moving a cluster's state between stores, for `skiff store migrate` and `skiff snapshot`:
 * - a **dump** is every record the port can read (meta, services and their revisions, tasks,
 *   allocations, nodes, events), store-neutral; `dumpStore` takes one from any store.
 * - `writeEtcdKeys` writes records to an etcd prefix that must be empty (or is cleared with
 *   `replace`), in transactions of at most 100 operations (under etcd's default --max-txn-ops),
 *   events last and oldest first, so their new ids keep their order.
 * - an **etcd snapshot** is every key under the prefix at one revision, with its create
 *   revision (an event's id derives from it), as one JSON document; an SQLite snapshot is a copy
 *   of the database file (SqliteStore.backupTo). `snapshotKind` tells them apart by their first bytes.
 * The same cluster id, node certificate serials and task ids are carried over, so agents (whose
 * certificates and assignment name the cluster) and their containers carry on.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import type { SkiffEvent } from '../model/event.ts';
import type { TaskRecord } from '../model/task.ts';
import { encode, eventRecord, keys, parseJson, parseKey } from './etcd/etcd-layout.ts';
import { rangeEnd } from './etcd/etcd-store.ts';
import type { Store, StoredAllocation, StoredNode, StoredRevision, StoredService } from './store.ts';

export interface StoreDump {
  readonly meta: readonly [string, string][];
  readonly services: readonly StoredService[];
  readonly revisions: readonly { readonly name: string; readonly revisions: readonly StoredRevision[] }[];
  readonly tasks: readonly TaskRecord[];
  readonly allocations: readonly StoredAllocation[];
  readonly nodes: readonly StoredNode[];
  /** Oldest first. */
  readonly events: readonly SkiffEvent[];
}

/** Events a dump carries: the log's bound (DEFAULT_EVENT_RETENTION). */
const MAX_DUMP_EVENTS = 10_000;

export function dumpStore(store: Store): StoreDump {
  const services = store.listServices();
  const names = new Set([...services.map((s) => s.spec.name), ...store.taskSnapshot().map((t) => t.service)]);
  return {
    meta: store.metaEntries(),
    services,
    revisions: [...names].sort().map((name) => ({ name, revisions: store.listRevisions(name) })),
    tasks: store.listTasks(),
    allocations: store.listAllocations(),
    nodes: store.listNodes(),
    events: store.listEvents({ limit: MAX_DUMP_EVENTS }),
  };
}

export interface EtcdEntry {
  readonly key: string;
  readonly value: string;
}

/** The etcd keys of a dump's records (events apart: `writeEtcdKeys` numbers them). */
export function etcdEntriesOf(dump: StoreDump): EtcdEntry[] {
  const entries: EtcdEntry[] = [];
  for (const [key, value] of dump.meta) entries.push({ key: keys.meta(key), value });
  for (const service of dump.services)
    entries.push({ key: keys.service(service.spec.name), value: encode.service(service) });
  for (const { name, revisions } of dump.revisions)
    for (const r of revisions)
      entries.push({ key: keys.revision(name, r.revision), value: encode.revision(r) });
  for (const task of dump.tasks) entries.push({ key: keys.task(task.id), value: encode.task(task) });
  for (const a of dump.allocations) {
    entries.push({ key: keys.alloc(a.kind, a.name), value: String(a.index) });
    entries.push({ key: keys.allocIndex(a.kind, a.index), value: a.name });
  }
  for (const node of dump.nodes) entries.push({ key: keys.node(node.id), value: encode.node(node) });
  return entries;
}

export class StoreNotEmptyError extends Error {
  override readonly name = 'StoreNotEmptyError';
}

const TXN_OPS = 100;

/**
 * Writes `entries` and then `events` (oldest first) under `prefix`. Refuses a prefix that holds
 * a cluster already unless `replace`, which deletes everything under it first.
 */
export async function writeEtcdKeys(
  client: Etcd3,
  prefix: string,
  entries: readonly EtcdEntry[],
  events: readonly Omit<z.infer<typeof eventRecord>, 'i'>[],
  { replace }: { replace: boolean },
): Promise<void> {
  const root = `${prefix.replace(/\/+$/, '')}/`;
  const existing = await client.kv.range({
    key: Buffer.from(root),
    range_end: rangeEnd(root),
    count_only: true,
  });
  if (Number(existing.count) > 0) {
    if (!replace)
      throw new StoreNotEmptyError(
        `etcd already holds ${existing.count} keys under ${root}: a cluster lives there (give --force to replace it)`,
      );
    await client.kv.deleteRange({ key: Buffer.from(root), range_end: rangeEnd(root) });
  }
  for (let i = 0; i < entries.length; i += TXN_OPS) {
    const chunk = entries.slice(i, i + TXN_OPS);
    await client.kv.txn({
      success: chunk.map((e) => ({
        request_put: { key: Buffer.from(root + e.key), value: Buffer.from(e.value) },
      })),
    });
  }
  const writer = `restore-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < events.length; i += TXN_OPS) {
    const chunk = events.slice(i, i + TXN_OPS);
    await client.kv.txn({
      success: chunk.map((e, j) => ({
        request_put: {
          key: Buffer.from(root + keys.event(writer, i + j)),
          value: Buffer.from(encode.event({ ...e, i: j })),
        },
      })),
    });
  }
}

/** A dump's events as records to write again (their ids are given anew, in the same order). */
export function eventRecordsOf(events: readonly SkiffEvent[]): Omit<z.infer<typeof eventRecord>, 'i'>[] {
  return events.map((e) => ({
    at: Date.parse(e.timestamp) || 0,
    type: e.type,
    service: e.service,
    container: e.container,
    node: e.node,
    message: e.message,
  }));
}

export const ETCD_SNAPSHOT_FORMAT = 'skiff-etcd-snapshot';

const etcdSnapshotSchema = z.object({
  format: z.literal(ETCD_SNAPSHOT_FORMAT),
  version: z.literal(1),
  prefix: z.string(),
  revision: z.number(),
  takenAt: z.string(),
  entries: z.array(z.object({ key: z.string(), value: z.string(), create: z.number() })),
});
export type EtcdSnapshot = z.infer<typeof etcdSnapshotSchema>;

export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

export function parseEtcdSnapshot(text: string): EtcdSnapshot {
  const parsed = etcdSnapshotSchema.safeParse(parseJson(text));
  if (!parsed.success) throw new SnapshotFormatError('not a Skiff etcd snapshot (or a damaged one)');
  return parsed.data;
}

/**
 * A snapshot's keys split for writing: state as it is, events ordered by their old ids (create
 * revision, then place in their batch) and stripped of their place, writers' markers and the HA
 * keys (leader, server registry) dropped.
 */
export function restorableEntries(snapshot: EtcdSnapshot): {
  entries: EtcdEntry[];
  events: Omit<z.infer<typeof eventRecord>, 'i'>[];
} {
  const entries: EtcdEntry[] = [];
  const events: { order: number; record: Omit<z.infer<typeof eventRecord>, 'i'> }[] = [];
  for (const e of snapshot.entries) {
    // Who leads and which servers run (`ha/`, kept on leases: server/leadership) belong to the
    // servers of the moment; restored, a dead server's leader key would outlive its lease forever.
    if (e.key.split('/')[0] === 'ha') continue;
    const table = parseKey(e.key).table;
    if (table === 'writer') continue;
    if (table !== 'event') {
      entries.push({ key: e.key, value: e.value });
      continue;
    }
    const record = eventRecord.safeParse(parseJson(e.value));
    if (!record.success) continue;
    const { i, ...rest } = record.data;
    events.push({ order: e.create * 65_536 + i, record: rest });
  }
  events.sort((a, b) => a.order - b.order);
  return { entries, events: events.map((e) => e.record) };
}

/** Which store a snapshot file is of, by its first bytes. */
export function snapshotKind(file: string): 'sqlite' | 'etcd' | 'unknown' {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    const read = readSync(fd, head, 0, 16, 0);
    const text = head.subarray(0, read).toString('latin1');
    if (text.startsWith('SQLite format 3')) return 'sqlite';
    if (text.trimStart().startsWith('{')) return 'etcd';
    return 'unknown';
  } finally {
    closeSync(fd);
  }
}
