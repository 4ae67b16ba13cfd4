/**
 * Immutable updates of the cached lists that keep the identity of every item that did not
 * change, so memoised rows of unchanged items skip rendering (and the query cache's structural
 * sharing finds them equal by reference at once).
 */
import type { ContainerView, ServiceView, SkiffEvent } from '../api/types.ts';

/**
 * `list` with the changes applied: a value replaces (or adds) the item of its key, null removes
 * it. Sorted by key, as the lists are shown. Unchanged items keep their identity; when nothing
 * changed, the list itself does.
 */
export function upsertByKey<T>(
  list: readonly T[] | undefined,
  changes: ReadonlyMap<string, T | null>,
  keyOf: (item: T) => string,
): readonly T[] {
  const current = list ?? [];
  if (changes.size === 0) return current;
  const pending = new Map(changes);
  let changed = false;
  const out: T[] = [];
  for (const item of current) {
    const key = keyOf(item);
    if (!pending.has(key)) {
      out.push(item);
      continue;
    }
    const next = pending.get(key);
    pending.delete(key);
    if (next === null || next === undefined) {
      changed = true;
      continue;
    }
    if (next !== item) changed = true;
    out.push(next);
  }
  for (const next of pending.values()) {
    if (next === null) continue;
    out.push(next);
    changed = true;
  }
  if (!changed) return current;
  return out.sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The service with one replica replaced (by task id) or added, or removed when `container` is null. */
export function withContainer(
  service: ServiceView,
  taskId: string,
  container: ContainerView | null,
): ServiceView {
  const containers = service.containers.filter((c) => c.task_id !== taskId);
  if (container !== null) {
    containers.push(container);
    containers.sort((a, b) => a.slot - b.slot || a.revision - b.revision);
  }
  return { ...service, containers, running: countRunning(service, containers) };
}

/** Replicas of the current revision that run, as the server counts them (src/api/views.ts). */
function countRunning(service: ServiceView, containers: readonly ContainerView[]): number {
  return containers.filter((c) => c.revision === service.revision && c.status === 'running').length;
}

/** The last `max` events, oldest first, without duplicates (a resync may repeat some). */
export function appendEvents(
  list: readonly SkiffEvent[] | undefined,
  more: readonly SkiffEvent[],
  max: number,
): readonly SkiffEvent[] {
  const current = list ?? [];
  if (more.length === 0) return current;
  const lastId = current.at(-1)?.id ?? -1;
  const fresh = more.filter((e) => e.id > lastId);
  if (fresh.length === 0) return current;
  const joined = current.concat(fresh);
  return joined.length > max ? joined.slice(joined.length - max) : joined;
}
