/**
 * The pure half of `setRoutes`: checks a route table for caller bugs (a key twice, two entries on
 * one socket) and diffs it against what is running into a plan — routes to remove, routes to add,
 * and for the rest the listeners to close and open. The service proxy applies the plan; backends
 * are not part of it because they are swapped in place on every call.
 */
import {
  DuplicateBackendError,
  DuplicateRouteError,
  type ListenAddress,
  ListenConflictError,
} from './errors.ts';
import type { ProxyMode, ProxyRoute } from './proxy-route.ts';

/** What runs now for one route key. */
export interface RunningRoute {
  readonly mode: ProxyMode;
  /** Ids (`listenerId`) of the listeners that are open; a listener that failed to open is absent. */
  readonly listenerIds: ReadonlySet<string>;
}

export interface RouteUpdate {
  readonly route: ProxyRoute;
  readonly close: readonly string[];
  readonly open: readonly ListenAddress[];
}

export interface RoutePlan {
  /** Keys whose listeners close and whose state goes, including routes whose mode changed. */
  readonly remove: readonly string[];
  /** New routes, and routes whose mode changed (a listener serves one protocol). */
  readonly add: readonly ProxyRoute[];
  readonly update: readonly RouteUpdate[];
}

// Linux refuses a specific address on a port a wildcard socket holds (and the reverse) even with
// SO_REUSEADDR, and `::` is dual-stack, so any wildcard shares a port with nobody.
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

export function listenerId(address: ListenAddress): string {
  return `${address.host}|${address.port}`;
}

/**
 * Throws DuplicateRouteError, DuplicateBackendError or ListenConflictError; port 0 never
 * conflicts across routes.
 */
export function checkRoutes(routes: readonly ProxyRoute[]): void {
  const keys = new Set<string>();
  const exact = new Map<string, string>();
  const byPort = new Map<number, { key: string; host: string }[]>();
  for (const route of routes) {
    if (keys.has(route.key)) throw new DuplicateRouteError(route.key);
    keys.add(route.key);
    const ids = new Set<string>();
    for (const backend of route.backends) {
      if (ids.has(backend.id)) throw new DuplicateBackendError(route.key, backend.id);
      ids.add(backend.id);
    }
    const own = new Set<string>();
    for (const address of route.listen) {
      const id = listenerId(address);
      if (own.has(id)) throw new ListenConflictError(address, [route.key, route.key], 'listed twice');
      own.add(id);
      if (address.port === 0) continue;
      const holder = exact.get(id);
      if (holder !== undefined) throw new ListenConflictError(address, [holder, route.key], 'same address');
      exact.set(id, route.key);
      const sharing = byPort.get(address.port) ?? [];
      for (const other of sharing) {
        if (WILDCARDS.has(other.host) || WILDCARDS.has(address.host)) {
          throw new ListenConflictError(
            address,
            [other.key, route.key],
            `a wildcard address cannot share port ${address.port} with ${other.host || '*'}`,
          );
        }
      }
      sharing.push({ key: route.key, host: address.host });
      byPort.set(address.port, sharing);
    }
  }
}

export function planRoutes(
  running: ReadonlyMap<string, RunningRoute>,
  next: readonly ProxyRoute[],
): RoutePlan {
  checkRoutes(next);
  const nextKeys = new Set(next.map((route) => route.key));
  const remove = [...running.keys()].filter((key) => !nextKeys.has(key));
  const add: ProxyRoute[] = [];
  const update: RouteUpdate[] = [];
  for (const route of next) {
    const current = running.get(route.key);
    if (current === undefined) {
      add.push(route);
    } else if (current.mode !== route.mode) {
      remove.push(route.key);
      add.push(route);
    } else {
      const wanted = new Set(route.listen.map(listenerId));
      update.push({
        route,
        close: [...current.listenerIds].filter((id) => !wanted.has(id)),
        open: route.listen.filter((address) => !current.listenerIds.has(listenerId(address))),
      });
    }
  }
  return { remove, add, update };
}
