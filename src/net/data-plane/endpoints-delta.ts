/**
 * The endpoint set an agent holds, and how each endpoints message changes it. A whole set
 * (`endpoints`) replaces it; a delta (`endpoints.delta`: services added or changed, services
 * removed, node addresses when they changed) is merged into it, and gives the same set the server
 * would have sent whole for that generation: services in name order, as the server lists them.
 * A delta that does not follow the held generation is not applied: the agent asks for the whole
 * set instead (`endpoints.resync`). A patched service (`endpoints-backend-delta`) keeps what the
 * agent holds of it but its backends: those removed go, those added or changed replace the held
 * one of their task id in place or come after the others. So a merged service's backends may be
 * in another order than the server lists them whole (by slot): the set of backends is the same,
 * and nothing in the data plane reads their order as meaning.
 */
import type { BackendsPatch, ServiceEndpoints } from '../../protocol/messages.ts';

export interface EndpointSet {
  /** Undefined before the first set, or from a server that numbers none. */
  readonly generation: number | undefined;
  /** In name order. */
  readonly services: readonly ServiceEndpoints[];
  /** Every node's address; undefined: the server sends none (an older one). */
  readonly peers: readonly string[] | undefined;
}

export interface EndpointsDelta {
  readonly generation: number;
  readonly baseGeneration: number;
  /** Added or changed, each whole. */
  readonly services: readonly ServiceEndpoints[];
  /** Names of services gone. */
  readonly removed: readonly string[];
  /** Undefined: unchanged. */
  readonly peers: readonly string[] | undefined;
  /** Services held whose backends alone changed (`endpoints-backend-delta`); absent: none. */
  readonly patched?: readonly BackendsPatch[] | undefined;
}

export const EMPTY_ENDPOINT_SET: EndpointSet = { generation: undefined, services: [], peers: undefined };

export type DeltaOutcome =
  | { readonly kind: 'applied'; readonly set: EndpointSet }
  /** The delta is against another generation than the one held: ask for the whole set. */
  | { readonly kind: 'resync'; readonly held: number | undefined };

const byName = (a: ServiceEndpoints, b: ServiceEndpoints) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A whole set, as received. */
export function fullSet(
  generation: number | undefined,
  services: readonly ServiceEndpoints[],
  peers: readonly string[] | undefined,
): EndpointSet {
  return { generation, services, peers };
}

/** The held set with the delta merged in; never mutates either. */
export function mergeEndpoints(current: EndpointSet, delta: EndpointsDelta): DeltaOutcome {
  if (current.generation !== delta.baseGeneration) return { kind: 'resync', held: current.generation };
  const byService = new Map(current.services.map((s) => [s.name, s]));
  for (const name of delta.removed) byService.delete(name);
  for (const service of delta.services) byService.set(service.name, service);
  for (const patch of delta.patched ?? []) {
    const held = byService.get(patch.name);
    // A patch of a service not held cannot follow the held set.
    if (!held) return { kind: 'resync', held: current.generation };
    byService.set(patch.name, patchBackends(held, patch));
  }
  return {
    kind: 'applied',
    set: {
      generation: delta.generation,
      services: [...byService.values()].sort(byName),
      peers: delta.peers ?? current.peers,
    },
  };
}

/** The service with its backends patched: removed ones gone, changed ones in place, new ones last. */
export function patchBackends(service: ServiceEndpoints, patch: BackendsPatch): ServiceEndpoints {
  const gone = new Set(patch.removed);
  const upserts = new Map(patch.backends.map((b) => [b.task_id, b]));
  const backends = [];
  for (const backend of service.backends) {
    if (gone.has(backend.task_id)) continue;
    const changed = upserts.get(backend.task_id);
    backends.push(changed ?? backend);
    upserts.delete(backend.task_id);
  }
  backends.push(...upserts.values());
  return { ...service, backends };
}
