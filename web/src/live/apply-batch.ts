/**
 * Applies one frame's worth of stream messages to the query cache: each cached list is written
 * at most once per batch, whatever the number of messages, and only items that changed get new
 * identities. The caller wraps this in `notifyManager.batch` so the whole burst is one render.
 */
import type { NodeView, ServiceView, SkiffEvent } from '../api/types.ts';
import { appendEvents, upsertByKey, withContainer } from './collections.ts';
import type { StreamMessage } from './messages.ts';
import { keys, MAX_CACHED_EVENTS } from './query-keys.ts';
import type { StatsSeries } from './stats-series.ts';

/** The part of the query cache this writes; a QueryClient fits. */
export interface CacheWriter {
  getQueryData<T>(key: readonly unknown[]): T | undefined;
  setQueryData<T>(key: readonly unknown[], value: T): unknown;
}

export interface BatchOutcome {
  /** A snapshot was applied (the connection is in sync from here). */
  readonly synced: boolean;
  /** The snapshot carried no events: the caller fetches them. */
  readonly needsEvents: boolean;
}

const serviceKey = (s: ServiceView) => s.name;
const nodeKey = (n: NodeView) => n.id;

export function applyBatch(
  messages: readonly StreamMessage[],
  cache: CacheWriter,
  stats: StatsSeries,
  nowMs: number,
): BatchOutcome {
  // Everything before the last snapshot is superseded by it.
  let start = 0;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.type === 'snapshot') {
      start = i;
      break;
    }
  }
  let synced = false;
  let needsEvents = false;
  let services = cache.getQueryData<readonly ServiceView[]>(keys.services);
  let nodes = cache.getQueryData<readonly NodeView[]>(keys.nodes);
  let events = cache.getQueryData<readonly SkiffEvent[]>(keys.events);
  const serviceChanges = new Map<string, ServiceView | null>();
  const nodeChanges = new Map<string, NodeView | null>();
  const newEvents: SkiffEvent[] = [];
  let servicesWritten = false;
  let nodesWritten = false;
  let byName: Map<string, ServiceView> | undefined;
  const serviceNamed = (name: string): ServiceView | undefined => {
    if (serviceChanges.has(name)) return serviceChanges.get(name) ?? undefined;
    byName ??= new Map((services ?? []).map((s) => [s.name, s]));
    return byName.get(name);
  };

  for (let i = start; i < messages.length; i++) {
    const message = messages[i];
    if (!message) continue;
    switch (message.type) {
      case 'snapshot':
        synced = true;
        services = [...message.services].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        nodes = [...message.nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        servicesWritten = true;
        nodesWritten = true;
        byName = undefined;
        if (message.events) events = appendEvents(undefined, message.events, MAX_CACHED_EVENTS);
        else needsEvents = true;
        stats.clear();
        if (message.stats) stats.add(message.stats);
        break;
      case 'service':
        serviceChanges.set(message.service.name, message.service);
        break;
      case 'service_removed':
        serviceChanges.set(message.name, null);
        break;
      case 'task': {
        const service = serviceNamed(message.service);
        if (service)
          serviceChanges.set(
            service.name,
            withContainer(service, message.container.task_id, message.container),
          );
        break;
      }
      case 'task_removed': {
        const service = serviceNamed(message.service);
        if (service) serviceChanges.set(service.name, withContainer(service, message.task_id, null));
        break;
      }
      case 'node':
        nodeChanges.set(message.node.id, message.node);
        break;
      case 'node_removed':
        nodeChanges.set(message.id, null);
        break;
      case 'event':
        newEvents.push(message.event);
        break;
      case 'stats':
        stats.add(message.samples);
        break;
    }
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
  return { synced, needsEvents };
}
