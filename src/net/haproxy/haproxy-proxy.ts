/**
 * The HTTP routes served by the agent's own HAProxy instead of the built-in proxy, behind the
 * same `setRoutes` / `boundPort` / `stop` as `ServiceProxy`. Level-triggered and serialised: each
 * table is turned into server slots (`haproxy-slots.ts`); when only replicas came or went, the
 * runtime API sets slots ready or maint (no reload, no connection touched); when routes, their
 * listeners, strategy, network or slot count changed, the config is rendered anew, checked with
 * `haproxy -c` and loaded by a reload. A listener on port 0 (the REDIRECT target) gets a free
 * port, kept for the route's life; a fixed one (127.0.0.1 on a published port) is tried first and
 * left out with a ListenFailedError if it cannot be bound, as the built-in proxy does.
 */
import { createServer } from 'node:net';
import type { ListenAddress, ListenFailure } from '../proxy/errors.ts';
import { ListenFailedError, ProxyStoppedError } from '../proxy/errors.ts';
import type { RequestListener } from '../proxy/http-proxy.ts';
import type { ProxyRoute } from '../proxy/proxy-route.ts';
import { checkRoutes, listenerId } from '../proxy/route-plan.ts';
import { type HaproxyRouteConfig, haproxyName, renderConfig } from './haproxy-config.ts';
import { HaproxyLogSocket } from './haproxy-log-socket.ts';
import { HaproxyProcess, haproxyPaths } from './haproxy-process.ts';
import { runtimeSet } from './haproxy-runtime.ts';
import { planSlots, runtimeLines, type SlotTable } from './haproxy-slots.ts';

export interface HaproxyProxyOptions {
  /** Its own directory (config, PID file, runtime socket), inside the agent's data dir. */
  readonly dir: string;
  readonly binary?: string;
  readonly log: (message: string) => void;
  /** Per replica connect attempt. Default 2 s. */
  readonly connectTimeoutMs?: number;
  /** Longest silence from a replica before a 504. Default 60 s. */
  readonly requestTimeoutMs?: number;
  /** `stop()` lets requests finish for this long. Default 5 s. */
  readonly stopGraceMs?: number;
  /**
   * Told of each request once answered (status undefined: the client went away first), with its
   * time in seconds, from HAProxy's request log: the same figures the built-in proxy gives.
   */
  readonly onRequest?: RequestListener;
  /** The request log's socket; default `log.sock` in `dir`. */
  readonly requestLogPath?: string;
}

interface RouteEntry {
  readonly key: string;
  readonly name: string;
  /** Requested listener id → the address HAProxy binds (port 0 resolved to a port of its own). */
  readonly binds: Map<string, ListenAddress>;
  slots: SlotTable | undefined;
}

const RESTART_DELAY_MS = 1000;

export class HaproxyProxy {
  readonly #options: HaproxyProxyOptions;
  readonly #process: HaproxyProcess;
  readonly #paths: ReturnType<typeof haproxyPaths>;
  readonly #routes = new Map<string, RouteEntry>();
  /** What the running config was rendered from, less the slots' addresses and states. */
  #loadedShape = '';
  #lastTable: readonly ProxyRoute[] = [];
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;
  #restart: NodeJS.Timeout | undefined;
  readonly #requestLog: HaproxyLogSocket | undefined;
  readonly #requestLogPath: string;
  #requestLogFailed = false;
  /** Frontend name → route key, for the request log's lines. */
  #keyOfName = new Map<string, string>();

  constructor(options: HaproxyProxyOptions) {
    this.#options = options;
    this.#paths = haproxyPaths(options.dir);
    this.#requestLogPath = options.requestLogPath ?? this.#paths.requestLog;
    this.#process = new HaproxyProcess({
      ...(options.binary === undefined ? {} : { binary: options.binary }),
      paths: this.#paths,
      log: options.log,
      onExit: (description) => this.#onExit(description),
    });
    const onRequest = options.onRequest;
    if (onRequest !== undefined) {
      this.#requestLog = new HaproxyLogSocket(this.#requestLogPath, ({ name, status, seconds }) => {
        const key = this.#keyOfName.get(name);
        if (key !== undefined) onRequest(key, status, seconds);
      });
    }
  }

  /** The master's PID while it runs (for tests and logs). */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Its processes: their sockets on published ports are the agent's own, not a conflict. */
  get pids(): number[] {
    return this.#process.pids;
  }

  setRoutes(routes: readonly ProxyRoute[]): Promise<void> {
    const run = this.#queue.then(() => this.#apply(routes));
    this.#queue = run.catch(() => {});
    return run;
  }

  boundPort(key: string, host: string): number | undefined {
    const entry = this.#routes.get(key);
    if (entry === undefined) return undefined;
    for (const [id, bound] of entry.binds) if (id.startsWith(`${host}|`)) return bound.port;
    return undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restart);
    await this.#queue;
    await this.#process.stop(this.#options.stopGraceMs ?? 5000);
    await this.#requestLog?.close();
    this.#routes.clear();
  }

  async #apply(table: readonly ProxyRoute[]): Promise<void> {
    if (this.#stopped) throw new ProxyStoppedError('setRoutes after stop');
    checkRoutes(table);
    this.#lastTable = table;
    // No HTTP route yet: no process to start (most agents of most clusters, most of the time).
    if (table.length === 0 && !this.#process.running && this.#routes.size === 0) return;
    const failures: ListenFailure[] = [];
    const wanted = new Set(table.map((route) => route.key));
    for (const key of [...this.#routes.keys()]) if (!wanted.has(key)) this.#routes.delete(key);

    const configs: HaproxyRouteConfig[] = [];
    const lines: string[] = [];
    for (const route of table) {
      if (route.mode !== 'http')
        throw new TypeError(`haproxy serves http routes only, not ${route.key} (${route.mode})`);
      if (route.allow !== undefined && route.allowCidrs === undefined) {
        throw new TypeError(`route ${route.key}: haproxy needs allowCidrs for its allow rule`);
      }
      let entry = this.#routes.get(route.key);
      if (entry === undefined) {
        entry = { key: route.key, name: haproxyName(route.key), binds: new Map(), slots: undefined };
        this.#routes.set(route.key, entry);
      }
      await this.#bind(entry, route.listen, failures);
      const plan = planSlots(entry.slots, route.backends);
      entry.slots = plan.table;
      lines.push(...runtimeLines(entry.name, plan.commands));
      configs.push({
        key: route.key,
        name: entry.name,
        binds: [...entry.binds.values()],
        strategy: route.strategy,
        ...(route.allowCidrs === undefined ? {} : { allowCidrs: route.allowCidrs }),
        slots: plan.table,
      });
    }

    this.#keyOfName = new Map(configs.map((c) => [c.name, c.key]));
    const shape = JSON.stringify(
      configs.map((c) => [c.name, c.binds, c.strategy, c.allowCidrs ?? null, c.slots.slots.length]),
    );
    if (shape !== this.#loadedShape || !this.#process.running) {
      await this.#load(configs);
      this.#loadedShape = shape;
    } else if (lines.length > 0) {
      try {
        await runtimeSet(this.#paths.adminSocket, lines);
      } catch (error) {
        // The running state is unknown now: load it whole rather than leave it half applied.
        this.#options.log(`${error instanceof Error ? error.message : String(error)}; reloading haproxy`);
        this.#loadedShape = '';
        await this.#load(configs);
        this.#loadedShape = shape;
      }
    }
    if (failures.length > 0) throw new ListenFailedError(failures);
  }

  async #load(routes: readonly HaproxyRouteConfig[]): Promise<void> {
    // The directory exists once a config was written; the socket before the workers dial it.
    let requestLog = this.#requestLog;
    // A unix socket path holds 107 bytes; HAProxy refuses a longer one, and the whole config with it.
    if (requestLog !== undefined && Buffer.byteLength(this.#requestLogPath) > 107) {
      this.#requestLogProblem(`${this.#requestLogPath} is too long for a unix socket`);
      requestLog = undefined;
    }
    const config = renderConfig({
      adminSocket: this.#paths.adminSocket,
      ...(requestLog === undefined ? {} : { requestLogSocket: this.#requestLogPath }),
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 2000,
      serverTimeoutMs: this.#options.requestTimeoutMs ?? 60_000,
      hardStopAfterMs: 60_000,
      routes,
    });
    await this.#process.writeConfig(config);
    // Without the log the routes still work; only their request metrics are missing (said once).
    await requestLog
      ?.listen()
      .catch((error: unknown) =>
        this.#requestLogProblem(error instanceof Error ? error.message : String(error)),
      );
    if (this.#process.running) await this.#process.reload();
    else await this.#process.start();
  }

  /** Resolves the route's listen addresses to binds; new fixed ones must be free first. */
  async #bind(entry: RouteEntry, listen: readonly ListenAddress[], failures: ListenFailure[]): Promise<void> {
    const wanted = new Set(listen.map(listenerId));
    for (const id of [...entry.binds.keys()]) if (!wanted.has(id)) entry.binds.delete(id);
    for (const address of listen) {
      const id = listenerId(address);
      if (entry.binds.has(id)) continue;
      try {
        const port = await probePort(address);
        entry.binds.set(id, { host: address.host, port });
      } catch (error) {
        const code = error instanceof Error && 'code' in error ? String(error.code) : 'UNKNOWN';
        failures.push({
          routeKey: entry.key,
          address,
          code,
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /** Said once: the routes work without the log; only their request metrics are missing. */
  #requestLogProblem(problem: string): void {
    if (this.#requestLogFailed) return;
    this.#requestLogFailed = true;
    this.#options.log(`haproxy request log: ${problem}; proxied requests are not counted`);
  }

  #onExit(description: string): void {
    this.#options.log(description);
    this.#loadedShape = '';
    if (this.#stopped) return;
    // Started again with the latest table; a failure there is logged and retried the same way.
    clearTimeout(this.#restart);
    this.#restart = setTimeout(() => {
      if (this.#stopped || this.#process.running) return;
      this.setRoutes(this.#lastTable).catch((error: unknown) =>
        this.#options.log(`haproxy restart: ${error instanceof Error ? error.message : String(error)}`),
      );
    }, RESTART_DELAY_MS);
  }
}

/** Binds `address` for a moment: the port it got (a free one for port 0), or the bind's error. */
function probePort(address: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: address.host, port: address.port, exclusive: true }, () => {
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
      server.close(() => resolve(port));
    });
  });
}
