/**
 * The per-host service proxy: holds the route table and converges its listeners to each table
 * it is given (level-triggered — the same table twice changes nothing). Backends are swapped in
 * place, so open connections and in-flight requests are untouched; a backend that leaves an HTTP
 * route has its idle sockets closed while its requests finish. Listen failures are reported
 * after everything else is applied and retried on the next call.
 */
import type { Server } from 'node:net';
import { type ListenAddress, ListenFailedError, type ListenFailure, ProxyStoppedError } from './errors.ts';
import { createHttpProxyServer, type RequestListener } from './http-proxy.ts';
import { ProxyListener } from './proxy-listener.ts';
import type { ProxyRoute, RouteStats } from './proxy-route.ts';
import { listenerId, planRoutes, type RunningRoute } from './route-plan.ts';
import { RouteState } from './route-state.ts';
import { createTcpProxyServer } from './tcp-proxy.ts';
import { UpstreamPool } from './upstream-pool.ts';

export type { Backend, Strategy } from './balancer.ts';
export type { BackendStats, ListenerStats, ProxyRoute, RouteStats } from './proxy-route.ts';

export interface ServiceProxyOptions {
  /** Per backend connect attempt, both modes. Default 2 s. */
  readonly connectTimeoutMs?: number;
  /** HTTP: longest silence from a backend before 504 (or a cut response). Default 60 s. */
  readonly requestTimeoutMs?: number;
  /** HTTP: idle keep-alive sockets to a backend close after this. Default 4 s. */
  readonly idleSocketTimeoutMs?: number;
  /** HTTP: request bodies up to this size are kept for a retry after a keep-alive reset. Default 64 KiB. */
  readonly retryBodyLimitBytes?: number;
  /** `stop()` lets client connections finish for this long before cutting them. Default 5 s. */
  readonly stopGraceMs?: number;
  /** HTTP: told of every answered request (the agent's metrics). */
  readonly onRequest?: RequestListener;
}

interface ActiveRoute {
  readonly state: RouteState;
  readonly pool: UpstreamPool | undefined;
  readonly listeners: Map<string, ProxyListener>;
}

export class ServiceProxy {
  readonly #options: Required<Omit<ServiceProxyOptions, 'onRequest'>>;
  readonly #onRequest: RequestListener | undefined;
  readonly #routes = new Map<string, ActiveRoute>();
  /** Listeners closed by an update, kept until their connections end so `stop()` can settle them. */
  readonly #retired = new Set<ProxyListener>();
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: ServiceProxyOptions = {}) {
    this.#options = {
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      idleSocketTimeoutMs: options.idleSocketTimeoutMs ?? 4000,
      retryBodyLimitBytes: options.retryBodyLimitBytes ?? 64 * 1024,
      stopGraceMs: options.stopGraceMs ?? 5000,
    };
    this.#onRequest = options.onRequest;
  }

  /**
   * Converges to `routes`. Throws ListenConflictError or DuplicateRouteError (caller bugs) before
   * changing anything; throws ListenFailedError after applying all it could.
   */
  setRoutes(routes: readonly ProxyRoute[]): Promise<void> {
    // Calls are serialised so two tables never interleave their listener changes.
    const run = this.#queue.then(() => this.#apply(routes));
    this.#queue = run.catch(() => {});
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#queue;
    const listeners = [...this.#retired];
    for (const route of this.#routes.values()) {
      listeners.push(...route.listeners.values());
      route.pool?.drainAll();
    }
    this.#routes.clear();
    this.#retired.clear();
    for (const listener of listeners) listener.close();
    await Promise.all(listeners.map((listener) => listener.settle(this.#options.stopGraceMs)));
  }

  stats(): RouteStats[] {
    return [...this.#routes.values()].map((route) =>
      route.state.stats([...route.listeners.values()].map((listener) => listener.stats())),
    );
  }

  /** The port bound for `key` on `host` (useful with port 0), or undefined if not listening. */
  boundPort(key: string, host: string): number | undefined {
    const route = this.#routes.get(key);
    if (route === undefined) return undefined;
    for (const listener of route.listeners.values()) {
      if (listener.address.host === host) return listener.stats().boundPort;
    }
    return undefined;
  }

  async #apply(routes: readonly ProxyRoute[]): Promise<void> {
    if (this.#stopped) throw new ProxyStoppedError('setRoutes after stop');
    const running = new Map<string, RunningRoute>();
    for (const [key, route] of this.#routes) {
      running.set(key, { mode: route.state.mode, listenerIds: new Set(route.listeners.keys()) });
    }
    const plan = planRoutes(running, routes);

    // Close before opening: an address may move from one route to another in one table.
    for (const key of plan.remove) {
      const route = this.#routes.get(key);
      if (route === undefined) continue;
      for (const listener of route.listeners.values()) this.#retire(listener);
      route.pool?.drainAll();
      this.#routes.delete(key);
    }
    for (const { route, close } of plan.update) {
      const active = this.#routes.get(route.key);
      for (const id of close) {
        const listener = active?.listeners.get(id);
        if (listener === undefined) continue;
        this.#retire(listener);
        active?.listeners.delete(id);
      }
    }

    const opening: Promise<ListenFailure | undefined>[] = [];
    for (const { route, open } of plan.update) {
      const active = this.#routes.get(route.key);
      if (active === undefined) continue;
      for (const backend of active.state.update(route)) active.pool?.drain(backend);
      for (const address of open) opening.push(this.#listen(route.key, active, address));
    }
    for (const route of plan.add) {
      const active = this.#create(route);
      this.#routes.set(route.key, active);
      for (const address of route.listen) opening.push(this.#listen(route.key, active, address));
    }
    const failures = (await Promise.all(opening)).filter((failure) => failure !== undefined);
    if (failures.length > 0) throw new ListenFailedError(failures);
  }

  #create(route: ProxyRoute): ActiveRoute {
    const state = new RouteState(route);
    if (route.mode === 'tcp') return { state, pool: undefined, listeners: new Map() };
    const pool = new UpstreamPool({
      connectTimeoutMs: this.#options.connectTimeoutMs,
      idleSocketTimeoutMs: this.#options.idleSocketTimeoutMs,
    });
    return { state, pool, listeners: new Map() };
  }

  #server(active: ActiveRoute, closing: () => boolean): Server {
    if (active.pool === undefined) {
      return createTcpProxyServer(active.state, { connectTimeoutMs: this.#options.connectTimeoutMs });
    }
    return createHttpProxyServer(
      { route: active.state, pool: active.pool, closing },
      {
        requestTimeoutMs: this.#options.requestTimeoutMs,
        retryBodyLimitBytes: this.#options.retryBodyLimitBytes,
        ...(this.#onRequest ? { onRequest: this.#onRequest } : {}),
      },
    );
  }

  async #listen(
    key: string,
    active: ActiveRoute,
    address: ListenAddress,
  ): Promise<ListenFailure | undefined> {
    let listener: ProxyListener | undefined;
    const server = this.#server(active, () => listener?.closing ?? false);
    listener = new ProxyListener(address, server);
    try {
      await listener.open();
    } catch (error) {
      // Not recorded as running, so the next setRoutes plans it again.
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'UNKNOWN';
      return {
        routeKey: key,
        address,
        code,
        message: error instanceof Error ? error.message : String(error),
      };
    }
    // stop() was called while the socket was binding: it waits for this apply, then closes the retired.
    if (this.#stopped) {
      this.#retire(listener);
      return undefined;
    }
    active.listeners.set(listenerId(address), listener);
    return undefined;
  }

  #retire(listener: ProxyListener): void {
    listener.close();
    this.#retired.add(listener);
    void listener.settle().then(() => this.#retired.delete(listener));
  }
}
