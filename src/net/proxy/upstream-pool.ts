/**
 * Keep-alive connections from one HTTP route to its backends: one agent per backend, so a
 * backend that leaves the route can be drained alone — its idle sockets close at once, its busy
 * ones close when their request completes instead of returning to the pool. Each agent bounds the
 * connect phase, because `node:http` has no connect timeout of its own.
 */
import type { Agent, ClientRequestArgs } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Backend } from './balancer.ts';
import { ConnectTimeoutError } from './errors.ts';
import { backendKey } from './route-state.ts';

// node:http as Node's own module object, not an ESM import of it: an import reads every export,
// and its lazy WebSocket getters load undici (6 MB of an agent's RSS; README: the agent's footprint).
const { Agent: HttpAgent } = process.getBuiltinModule('node:http');

export interface UpstreamPoolOptions {
  readonly connectTimeoutMs: number;
  /**
   * How long an idle keep-alive socket waits for reuse. Below the usual 5 s server keep-alive so
   * the proxy, not the backend, closes idle sockets: that shrinks the window where a request is
   * written to a socket the backend is closing (Node also honours a `Keep-Alive: timeout` hint).
   */
  readonly idleSocketTimeoutMs: number;
}

class BackendAgent extends HttpAgent {
  readonly #backend: Backend;
  readonly #connectTimeoutMs: number;
  #draining = false;

  constructor(backend: Backend, options: UpstreamPoolOptions) {
    super({ keepAlive: true, scheduling: 'lifo', timeout: options.idleSocketTimeoutMs });
    this.#backend = backend;
    this.#connectTimeoutMs = options.connectTimeoutMs;
  }

  override createConnection(_options: ClientRequestArgs): Duplex {
    const socket: Socket = connect({ host: this.#backend.host, port: this.#backend.port, noDelay: true });
    const timer = setTimeout(
      () => socket.destroy(new ConnectTimeoutError(this.#backend, this.#connectTimeoutMs)),
      this.#connectTimeoutMs,
    );
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    return socket;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    if (this.#draining) return false;
    return Boolean(super.keepSocketAlive(socket));
  }

  drain(): void {
    this.#draining = true;
    for (const sockets of Object.values(this.freeSockets)) {
      for (const socket of sockets ?? []) socket.destroy();
    }
  }
}

export class UpstreamPool {
  readonly #options: UpstreamPoolOptions;
  readonly #agents = new Map<string, BackendAgent>();

  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
  }

  agentFor(backend: Backend): Agent {
    const key = backendKey(backend);
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      agent = new BackendAgent(backend, this.#options);
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** The backend left its route: requests in flight finish on their sockets, nothing idles. */
  drain(backend: Backend): void {
    const key = backendKey(backend);
    this.#agents.get(key)?.drain();
    this.#agents.delete(key);
  }

  drainAll(): void {
    for (const agent of this.#agents.values()) agent.drain();
    this.#agents.clear();
  }
}
