/**
 * Applies one frame's worth of stream messages (snapshots and `changes`, already checked to follow
 * on from each other) to the query cache: each cached list is written at most once per batch,
 * whatever the number of messages, and only rows that changed get new identities. The caller wraps
 * this in `notifyManager.batch` so the whole burst is one render.
 */
import { replaceEqualDeep } from '@tanstack/query-core';
import type { NodeView, ServiceView, SkiffEvent } from '../api/types.ts';
import { appendEvents, upsertByKey, withContainer } from './collections.ts';
import type { ChangesMessage, SnapshotMessage } from './messages.ts';
import { keys, MAX_CACHED_EVENTS } from './query-keys.ts';
import type { StatsSeries } from './stats-series.ts';

export type StateMessage = SnapshotMessage | ChangesMessage;

/** The part of the query cache this writes; a QueryClient fits. */
export interface CacheWriter {
  getQueryData<T>(key: readonly unknown[]): T | undefined;
  setQueryData<T>(key: readonly unknown[], value: T): unknown;
}

/** The part of a QueryClient `streamedQueryDefaults` sets. */
export interface QueryDefaults {
  setQueryDefaults(key: readonly unknown[], options: { structuralSharing: boolean }): void;
}

/**
 * Streamed lists skip the cache's own structural sharing: every write would deep-compare the whole
 * list (a tenth of the main thread under 1,000 busy replicas). The batch keeps identities itself:
 * unchanged rows are never replaced, a changed row is new (the server sends a row only when its
 * JSON changed), and a snapshot's rows are shared with the cached ones row by row.
 */
export function streamedQueryDefaults(client: QueryDefaults): void {
  for (const key of [keys.services, keys.nodes, keys.events, ['stats']])
    client.setQueryDefaults(key, { structuralSharing: false });
}

/** `next` sorted, each row deep-shared with the cached row of its key (a snapshot's rows only). */
function sharedRows<T>(
  cached: readonly T[] | undefined,
  next: readonly T[],
  keyOf: (row: T) => string,
  order: (a: T, b: T) => number,
): readonly T[] {
  const old = new Map((cached ?? []).map((row) => [keyOf(row), row]));
  const rows = [...next].sort(order).map((row) => {
    const before = old.get(keyOf(row));
    return before === undefined ? row : (replaceEqualDeep(before, row) as T);
  });
  const same = cached !== undefined && cached.length === rows.length && rows.every((r, i) => r === cached[i]);
  return same ? cached : rows;
}

const serviceKey = (s: ServiceView) => s.name;
const nodeKey = (n: NodeView) => n.id;
const byName = (a: ServiceView, b: ServiceView) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byId = (a: NodeView, b: NodeView) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Returns whether a snapshot was among the messages (the cache was replaced, then changed). */
export function applyBatch(
  messages: readonly StateMessage[],
  cache: CacheWriter,
  stats: StatsSeries,
  nowMs: number,
): boolean {
  // Everything before the last snapshot is superseded by it.
  let start = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.type === 'snapshot') {
      start = i;
      break;
    }
  }
  let synced = false;
  let services = cache.getQueryData<readonly ServiceView[]>(keys.services);
  let nodes = cache.getQueryData<readonly NodeView[]>(keys.nodes);
  let events = cache.getQueryData<readonly SkiffEvent[]>(keys.events);
  const serviceChanges = new Map<string, ServiceView | null>();
  const nodeChanges = new Map<string, NodeView | null>();
  const newEvents: SkiffEvent[] = [];
  let servicesWritten = false;
  let nodesWritten = false;
  let named: Map<string, ServiceView> | undefined;
  const serviceNamed = (name: string): ServiceView | undefined => {
    if (serviceChanges.has(name)) return serviceChanges.get(name) ?? undefined;
    named ??= new Map((services ?? []).map((s) => [s.name, s]));
    return named.get(name);
  };

  for (let i = start; i < messages.length; i++) {
    const message = messages[i];
    if (!message) continue;
    if (message.type === 'snapshot') {
      synced = true;
      // The snapshot's whole rows, each unchanged one kept as it was (memoised rows skip).
      services = sharedRows(services, message.services, serviceKey, byName);
      nodes = sharedRows(nodes, message.nodes, nodeKey, byId);
      servicesWritten = true;
      nodesWritten = true;
      named = undefined;
      serviceChanges.clear();
      nodeChanges.clear();
      newEvents.length = 0;
      events = appendEvents(undefined, message.events, MAX_CACHED_EVENTS);
      stats.clear();
      stats.add(message.stats, nowMs);
      stats.addNodeUsage(message.node_usage ?? [], nowMs);
      continue;
    }
    const upserted = new Set<string>();
    for (const service of message.services?.upsert ?? []) {
      serviceChanges.set(service.name, service);
      upserted.add(service.name);
    }
    for (const name of message.services?.remove ?? []) serviceChanges.set(name, null);
    // A replica's change also changes its service's row, which then comes whole; a task row alone
    // (a server that sends only it) is folded into its service here.
    for (const task of message.tasks?.upsert ?? []) {
      if (upserted.has(task.service)) continue;
      const service = serviceNamed(task.service);
      if (!service) continue;
      const { service: _name, ...container } = task;
      serviceChanges.set(service.name, withContainer(service, task.task_id, container));
    }
    for (const node of message.nodes?.upsert ?? []) nodeChanges.set(node.id, node);
    for (const id of message.nodes?.remove ?? []) nodeChanges.set(id, null);
    if (message.events) newEvents.push(...message.events);
    if (message.stats) stats.add(message.stats, nowMs);
    if (message.node_usage) stats.addNodeUsage(message.node_usage, nowMs);
  }

  if (serviceChanges.size > 0) {
    services = upsertByKey(services, serviceChanges, serviceKey);
    servicesWritten = true;
  }
  if (nodeChanges.size > 0) {
    nodes = upsertByKey(nodes, nodeChanges, nodeKey);
    nodesWritten = true;
  }
  if (servicesWritten) cache.setQueryData(keys.services, services ?? []);
  if (nodesWritten) cache.setQueryData(keys.nodes, nodes ?? []);
  if (synced || newEvents.length > 0) {
    cache.setQueryData(keys.events, appendEvents(events, newEvents, MAX_CACHED_EVENTS));
  }
  const points = stats.flush(nowMs);
  for (const [name, series] of points.services) cache.setQueryData(keys.serviceStats(name), series);
  for (const [id, series] of points.nodes) cache.setQueryData(keys.nodeStats(id), series);
  for (const [id, series] of points.hosts) cache.setQueryData(keys.hostUsage(id), series);
  return synced;
}
