/**
 * The live state of one route that the listeners share: its current backends, strategy and
 * `allow`, its balancer, and its counters. `update` swaps the route in place, so connections and
 * requests already running keep their backend while the next pick sees the new list. A backend
 * that leaves while busy stays in the stats as draining until its last lease ends.
 */
import { type Backend, Balancer } from './balancer.ts';
import type { ListenerStats, ProxyMode, ProxyRoute, RouteStats } from './proxy-route.ts';

/** One connection or request on one backend; `end` is idempotent so every exit path may call it. */
export interface Lease {
  readonly backend: Backend;
  end(outcome: 'ok' | 'failed'): void;
}

interface BackendCounters {
  backend: Backend;
  total: number;
  failures: number;
  listed: boolean;
}

export class RouteState {
  readonly key: string;
  readonly mode: ProxyMode;
  #route: ProxyRoute;
  readonly #balancer: Balancer;
  readonly #counters = new Map<string, BackendCounters>();
  #connections = 0;
  #requests = 0;
  #rejected = 0;
  #failures = 0;
  #retries = 0;

  constructor(route: ProxyRoute) {
    this.key = route.key;
    this.mode = route.mode;
    this.#route = route;
    this.#balancer = new Balancer(route.strategy);
    this.#track(route.backends);
  }

  get backends(): readonly Backend[] {
    return this.#route.backends;
  }

  /** Swaps backends, strategy and `allow`; returns the backends that left (for draining idle sockets). */
  update(route: ProxyRoute): Backend[] {
    const staying = new Set(route.backends.map(backendKey));
    const left = this.#route.backends.filter((backend) => !staying.has(backendKey(backend)));
    this.#route = route;
    this.#balancer.strategy = route.strategy;
    for (const counters of this.#counters.values()) counters.listed = false;
    this.#track(route.backends);
    this.#prune();
    return left;
  }

  /** The current `allow` rule itself: a decision cached against it is stale once it changes. */
  get allowRule(): unknown {
    return this.#route.allow;
  }

  allows(clientAddress: string): boolean {
    const allow = this.#route.allow;
    if (allow === undefined) return true;
    try {
      return allow(clientAddress);
    } catch {
      // A broken rule must not take the data plane down with it; it fails closed.
      return false;
    }
  }

  pick(exclude: ReadonlySet<string>): Backend | undefined {
    return this.#balancer.pick(this.#route.backends, exclude);
  }

  begin(backend: Backend): Lease {
    this.#balancer.acquire(backend.id);
    const counters = this.#countersFor(backend);
    counters.total++;
    let ended = false;
    return {
      backend,
      end: (outcome) => {
        if (ended) return;
        ended = true;
        this.#balancer.release(backend.id);
        if (outcome === 'failed') counters.failures++;
        // Only this backend can have become prunable; no scan per request.
        if (!counters.listed && this.#balancer.active(backend.id) === 0) {
          this.#counters.delete(backendKey(backend));
        }
      },
    };
  }

  countConnection(): void {
    this.#connections++;
  }

  countRequest(): void {
    this.#requests++;
  }

  countRejected(): void {
    this.#rejected++;
  }

  countFailure(): void {
    this.#failures++;
  }

  countRetry(): void {
    this.#retries++;
  }

  stats(listeners: readonly ListenerStats[]): RouteStats {
    return {
      key: this.key,
      mode: this.mode,
      listeners,
      connections: this.#connections,
      requests: this.#requests,
      rejected: this.#rejected,
      failures: this.#failures,
      retries: this.#retries,
      backends: [...this.#counters.values()].map(({ backend, total, failures, listed }) => ({
        id: backend.id,
        host: backend.host,
        port: backend.port,
        active: this.#balancer.active(backend.id),
        total,
        failures,
        draining: !listed,
      })),
    };
  }

  #track(backends: readonly Backend[]): void {
    for (const backend of backends) this.#countersFor(backend).listed = true;
  }

  #countersFor(backend: Backend): BackendCounters {
    const key = backendKey(backend);
    let counters = this.#counters.get(key);
    if (counters === undefined) {
      counters = { backend, total: 0, failures: 0, listed: false };
      this.#counters.set(key, counters);
    }
    return counters;
  }

  /** Forgets backends that left and went idle, so the counters stay bounded by the route's history. */
  #prune(): void {
    for (const [key, counters] of this.#counters) {
      if (!counters.listed && this.#balancer.active(counters.backend.id) === 0) this.#counters.delete(key);
    }
  }
}

/** A backend is its id at its address: the same replica id on a new port is a new backend. */
export function backendKey(backend: Backend): string {
  return `${backend.id}@${backend.host}:${backend.port}`;
}
