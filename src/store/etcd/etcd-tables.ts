/**
 * The etcd store's records, parsed, as the store's readers see them: each key's visible value
 * (kv-mirror.ts) decoded into the same records the SQLite store gives. Records are replaced when
 * their key changes and never mutated, so arrays handed out stay consistent snapshots and an
 * unchanged record keeps its identity. Events appear only once committed (their id comes from
 * the commit's revision), in id order.
 */
import { isoTimeOrNull } from '../../model/bounds.ts';
import type { SkiffEvent } from '../../model/event.ts';
import type { TaskRecord } from '../../model/task.ts';
import type { EventQuery, StoredAllocation, StoredNode, StoredRevision, StoredService } from '../store.ts';
import {
  EVENT_ID_SPAN,
  eventRecord,
  nodeRecord,
  parseJson,
  parseKey,
  readObservation,
  revisionRecord,
  serviceRecord,
  taskRecord,
} from './etcd-layout.ts';

interface TailEntry {
  readonly key: string;
  readonly at: number;
  readonly event: SkiffEvent;
}

export class EtcdTables {
  readonly meta = new Map<string, string>();
  readonly services = new Map<string, StoredService>();
  readonly revisions = new Map<string, Map<number, StoredRevision>>();
  readonly tasks = new Map<string, TaskRecord>();
  /** `kind\0name` → allocation. */
  readonly allocations = new Map<string, StoredAllocation>();
  /** `kind\0index` → the name holding it. */
  readonly allocationIndex = new Map<string, string>();
  readonly nodes = new Map<string, StoredNode>();
  /** Committed events, by id. */
  readonly #events: TailEntry[] = [];
  readonly #eventKeys = new Map<string, number>();
  #sortedServices: StoredService[] | undefined;
  #sortedNodes: StoredNode[] | undefined;
  #sortedAllocations: StoredAllocation[] | undefined;
  #taskList: TaskRecord[] | undefined;

  readonly #onUnreadable: (key: string) => void;

  /** Unreadable values are reported to onUnreadable (they are then treated as absent). */
  constructor(onUnreadable: (key: string) => void = () => {}) {
    this.#onUnreadable = onUnreadable;
  }

  /** A key's visible value changed (undefined: gone). `typed`: the record, when the writer has it. */
  apply(key: string, text: string | undefined, typed?: unknown): void {
    const where = parseKey(key);
    switch (where.table) {
      case 'meta':
        if (text === undefined) this.meta.delete(where.key);
        else this.meta.set(where.key, text);
        return;
      case 'service': {
        this.#sortedServices = undefined;
        const record = text === undefined ? undefined : (typed ?? this.#decode(key, serviceRecord, text));
        if (record === undefined) this.services.delete(where.name);
        else this.services.set(where.name, record as StoredService);
        return;
      }
      case 'revision': {
        let of = this.revisions.get(where.name);
        const record = text === undefined ? undefined : this.#decode(key, revisionRecord, text);
        if (record === undefined) {
          of?.delete(where.revision);
          if (of?.size === 0) this.revisions.delete(where.name);
          return;
        }
        if (!of) {
          of = new Map();
          this.revisions.set(where.name, of);
        }
        of.set(where.revision, { revision: where.revision, spec: record.spec, createdAt: record.createdAt });
        return;
      }
      case 'task': {
        this.#taskList = undefined;
        const record =
          text === undefined ? undefined : ((typed as TaskRecord | undefined) ?? this.#task(key, text));
        if (record === undefined) this.tasks.delete(where.id);
        else this.tasks.set(where.id, record);
        return;
      }
      case 'alloc': {
        this.#sortedAllocations = undefined;
        const id = `${where.kind}\u0000${where.name}`;
        const index = text === undefined ? Number.NaN : Number(text);
        if (!Number.isInteger(index) || (where.kind !== 'network' && where.kind !== 'service'))
          this.allocations.delete(id);
        else this.allocations.set(id, { kind: where.kind, name: where.name, index });
        return;
      }
      case 'allocIndex': {
        const id = `${where.kind}\u0000${where.index}`;
        if (text === undefined) this.allocationIndex.delete(id);
        else this.allocationIndex.set(id, text);
        return;
      }
      case 'node': {
        this.#sortedNodes = undefined;
        const record = text === undefined ? undefined : this.#decode(key, nodeRecord, text);
        if (record === undefined) this.nodes.delete(where.id);
        else this.nodes.set(where.id, { id: where.id, ...record });
        return;
      }
      default:
        return;
    }
  }

  /** A committed event key changed (created at `createRevision`, or deleted). */
  applyEvent(key: string, text: string | undefined, createRevision: number): SkiffEvent | undefined {
    if (text === undefined) {
      const id = this.#eventKeys.get(key);
      if (id === undefined) return undefined;
      this.#eventKeys.delete(key);
      const at = this.#findEvent(id);
      if (this.#events[at]?.event.id === id) this.#events.splice(at, 1);
      return undefined;
    }
    if (this.#eventKeys.has(key)) return undefined;
    const record = this.#decode(key, eventRecord, text);
    if (!record) return undefined;
    const event: SkiffEvent = {
      id: createRevision * EVENT_ID_SPAN + record.i,
      timestamp: isoTimeOrNull(record.at) ?? new Date(0).toISOString(),
      type: record.type,
      service: record.service,
      container: record.container,
      node: record.node,
      message: record.message,
    };
    this.#eventKeys.set(key, event.id);
    const entry = { key, at: record.at, event };
    const last = this.#events.at(-1);
    if (!last || last.event.id < event.id) this.#events.push(entry);
    else this.#events.splice(this.#findEvent(event.id), 0, entry);
    return event;
  }

  /** The first position whose event id is ≥ id. */
  #findEvent(id: number): number {
    let lo = 0;
    let hi = this.#events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#events[mid]?.event.id ?? 0) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get eventCount(): number {
    return this.#events.length;
  }

  /** The keys of the oldest committed events beyond the newest `keep`. */
  eventKeysBeyond(keep: number): string[] {
    const extra = this.#events.length - keep;
    return extra > 0 ? this.#events.slice(0, extra).map((e) => e.key) : [];
  }

  listEvents(query: EventQuery): SkiffEvent[] {
    const { afterId, sinceMs, service, limit } = query;
    const matches = (entry: TailEntry) =>
      (sinceMs === undefined || entry.at >= sinceMs) &&
      (service === undefined || entry.event.service === service);
    const found: SkiffEvent[] = [];
    if (afterId !== undefined) {
      for (let i = this.#findEvent(afterId + 1); i < this.#events.length && found.length < limit; i++) {
        const entry = this.#events[i];
        if (entry && matches(entry)) found.push(entry.event);
      }
      return found;
    }
    for (let i = this.#events.length - 1; i >= 0 && found.length < limit; i--) {
      const entry = this.#events[i];
      if (entry && matches(entry)) found.push(entry.event);
    }
    return found.reverse();
  }

  listServices(): StoredService[] {
    this.#sortedServices ??= [...this.services.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, s]) => s);
    return [...this.#sortedServices];
  }

  listNodes(): StoredNode[] {
    this.#sortedNodes ??= [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return [...this.#sortedNodes];
  }

  listAllocations(): StoredAllocation[] {
    this.#sortedAllocations ??= [...this.allocations.values()].sort(
      (a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || a.index - b.index,
    );
    return [...this.#sortedAllocations];
  }

  taskSnapshot(): TaskRecord[] {
    this.#taskList ??= [...this.tasks.values()];
    return [...this.#taskList];
  }

  #task(key: string, text: string): TaskRecord | undefined {
    const record = this.#decode(key, taskRecord, text);
    return record ? { ...record, observed: readObservation(record.observed) } : undefined;
  }

  #decode<T>(
    key: string,
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
    text: string,
  ): T | undefined {
    const parsed = schema.safeParse(parseJson(text));
    if (parsed.success) return parsed.data;
    this.#onUnreadable(key);
    return undefined;
  }
}
