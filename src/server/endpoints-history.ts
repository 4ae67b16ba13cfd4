/**
 * What the server remembers of one published service so that a delta can carry only its
 * backends that changed (`endpoints-backend-delta`): the generation that last changed the rest
 * of the service (its header: name, VIP, networks, ports, aliases), each backend's generation,
 * and tombstones of backends removed, kept back to the oldest generation a delta can start from.
 * Pure: the plan (plan-pass.ts) publishes with it, and asks it what a node last sent `base` needs.
 */
import type { Backend, BackendsPatch, ServiceEndpoints } from '../protocol/messages.ts';

export interface PublishedBackend {
  /**
   * Told from a changed one by its JSON, made again when its service changes rather than kept:
   * 10,000 backends' texts were 1.4 MB of the server's heap at 1,000 nodes (bench:heap-summary).
   */
  readonly backend: Backend;
  /** The generation that added or last changed it. */
  readonly generation: number;
}

/** One service's published endpoints, and the generations that changed them. */
export interface PublishedEndpoints {
  readonly entry: ServiceEndpoints;
  /** `entry` as JSON: compared to tell a change, and what its size is counted by. */
  readonly text: string;
  /** The generation that last changed anything in it. */
  readonly generation: number;
  /** The generation that added the service or last changed anything but its backends. */
  readonly headerGeneration: number;
  /** The entry without its backends, as JSON. */
  readonly headerText: string;
  /** By task id. */
  readonly backends: ReadonlyMap<string, PublishedBackend>;
  /** Backends removed, by task id, with the generation that removed them. */
  readonly removedBackends: ReadonlyMap<string, number>;
}

/** What a node last sent `base` needs of a service: nothing, all of it, or its backends' patch. */
export type ServiceDelta =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'whole'; readonly entry: ServiceEndpoints }
  | { readonly kind: 'patch'; readonly patch: BackendsPatch };

function headerOf(entry: ServiceEndpoints): string {
  return JSON.stringify({ ...entry, backends: [] });
}

/**
 * The service as published at `generation`, from what was published before (undefined: a new
 * service). Tombstones at or before `deltasSince` are dropped: no delta starts that early.
 * `before` is returned as it is when nothing changed.
 */
export function publishService(
  before: PublishedEndpoints | undefined,
  entry: ServiceEndpoints,
  text: string,
  generation: number,
  deltasSince: number,
): PublishedEndpoints {
  if (before?.text === text) return before;
  const headerText = headerOf(entry);
  const headerGeneration =
    before !== undefined && before.headerText === headerText ? before.headerGeneration : generation;
  const backends = new Map<string, PublishedBackend>();
  for (const backend of entry.backends) {
    const known = before?.backends.get(backend.task_id);
    const same = known !== undefined && JSON.stringify(known.backend) === JSON.stringify(backend);
    backends.set(backend.task_id, same ? known : { backend, generation });
  }
  const removedBackends = new Map<string, number>();
  for (const [id, at] of before?.removedBackends ?? [])
    if (at > deltasSince && !backends.has(id)) removedBackends.set(id, at);
  for (const id of before?.backends.keys() ?? []) if (!backends.has(id)) removedBackends.set(id, generation);
  return { entry, text, generation, headerGeneration, headerText, backends, removedBackends };
}

/** What a node that holds the set of generation `base` needs of this service. */
export function serviceDelta(published: PublishedEndpoints, base: number, patches: boolean): ServiceDelta {
  if (published.generation <= base) return { kind: 'unchanged' };
  if (!patches || published.headerGeneration > base) return { kind: 'whole', entry: published.entry };
  const backends = [...published.backends.values()].filter((b) => b.generation > base).map((b) => b.backend);
  const removed = [...published.removedBackends].filter(([, at]) => at > base).map(([id]) => id);
  return { kind: 'patch', patch: { name: published.entry.name, backends, removed } };
}

/** Bytes (about) a delta of this service costs from the generation before `published`'s own. */
export function latestDeltaBytes(published: PublishedEndpoints, patches: boolean): number {
  const delta = serviceDelta(published, published.generation - 1, patches);
  if (delta.kind === 'unchanged') return 0;
  if (delta.kind === 'whole') return published.text.length;
  let bytes = published.entry.name.length + 40;
  for (const backend of published.backends.values())
    if (backend.generation === published.generation) bytes += JSON.stringify(backend.backend).length + 1;
  for (const [id, at] of published.removedBackends) if (at === published.generation) bytes += id.length + 3;
  return bytes;
}
