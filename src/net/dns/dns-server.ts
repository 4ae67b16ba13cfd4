/**
 * The per-host DNS server the containers use as their resolver: listeners (one per address the
 * agent asks for, typically each container network's gateway), each a UDP socket and a TCP server
 * on the same port, each query read, decided by `answerQuestion` and answered — or relayed through
 * `UpstreamForwarder`. TCP is there because a truncated UDP answer (a service with many replicas)
 * sends the client's resolver to TCP for the whole set. This file is only the socket plumbing and
 * the listener lifecycle; what to answer lives in `dns-answer.ts`, how to spell it on the wire in
 * `dns-message.ts`, TCP framing in `tcp-framing.ts`. Nothing a client sends can throw out of here.
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  createServer as createTcpServer,
  isIP,
  type Server as TcpServer,
  type Socket as TcpSocket,
} from 'node:net';
import { answerQuestion, DEFAULT_TTL_SECONDS, type ServiceRegistry } from './dns-answer.ts';
import { type DnsQuery, decisionReply, RCODE, readQuery, statusReply } from './dns-message.ts';
import { canonicalAddress, type Endpoint, parseUpstream, sameEndpoint } from './endpoint.ts';
import { DnsListenerError, DnsServerStateError, formatEndpoint } from './errors.ts';
import { MAX_TCP_MESSAGE_BYTES, TcpFrameReader, tcpFrame } from './tcp-framing.ts';
import { UpstreamForwarder } from './upstream-forwarder.ts';

export interface DnsServerOptions {
  readonly listen: readonly Endpoint[];
  readonly registry: ServiceRegistry;
  /** `ip`, `ip:port` or `[ipv6]:port`, tried in order. */
  readonly upstreams: readonly string[];
  readonly ttlSeconds?: number;
  /** How long one upstream may stay silent before the next is tried. */
  readonly forwardTimeoutMs?: number;
  /** Queries waiting on upstreams at once; past it, new ones get SERVFAIL at once. */
  readonly maxPendingForwards?: number;
  readonly log?: (message: string) => void;
}

const DEFAULT_FORWARD_TIMEOUT_MS = 2000;
const DEFAULT_MAX_PENDING_FORWARDS = 1000;
/** RFC 7766 §6.2.3: a server should close idle connections; resolvers reopen them at will. */
const TCP_IDLE_TIMEOUT_MS = 10_000;
/** Open TCP connections per server; past it new ones are closed at once, so no client can hoard sockets. */
const MAX_TCP_CONNECTIONS = 256;
/** A port 0 request binds UDP where the kernel says, then TCP on that port; that port may be taken for TCP. */
const BIND_ATTEMPTS = 8;

interface Listener {
  readonly requested: Endpoint;
  readonly bound: Endpoint;
  readonly socket: Socket;
  /** Undefined only for a fixed port whose TCP side someone else holds. */
  readonly tcp: TcpServer | undefined;
}

/** Where a query came from and how to answer it: UDP datagram or TCP frame, each with its size limit. */
interface Asker {
  readonly address: string;
  readonly port: number;
  readonly limitBytes: number | undefined;
  reply(bytes: Buffer): void;
}

type State = 'new' | 'running' | 'stopped';

export class DnsServer {
  readonly #listen: readonly Endpoint[];
  readonly #registry: ServiceRegistry;
  readonly #upstreams: readonly Endpoint[];
  readonly #ttlSeconds: number;
  readonly #log: (message: string) => void;
  readonly #forwarder: UpstreamForwarder;
  /**
   * By requested address and port. A promise, so that the agent's converge loop can ask for the
   * same listener again while the first bind is still under way and get the same one.
   */
  readonly #listeners = new Map<string, Promise<Listener>>();
  /** Bound listeners, for the synchronous `listeners` view and the loop check on forwarding. */
  readonly #bound = new Map<string, Listener>();
  readonly #connections = new Set<TcpSocket>();
  #state: State = 'new';

  constructor(options: DnsServerOptions) {
    this.#listen = options.listen;
    this.#registry = options.registry;
    this.#upstreams = options.upstreams.map(parseUpstream);
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.#log = options.log ?? (() => {});
    this.#forwarder = new UpstreamForwarder({
      timeoutMs: options.forwardTimeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS,
      maxPending: options.maxPendingForwards ?? DEFAULT_MAX_PENDING_FORWARDS,
      log: this.#log,
    });
  }

  /** Where the server listens, with the port the kernel chose for a requested port 0. */
  get listeners(): Endpoint[] {
    return [...this.#bound.values()].map((listener) => listener.bound);
  }

  /** Binds the listeners given at construction; if any fails, none stays bound. */
  async start(): Promise<void> {
    if (this.#state !== 'new')
      throw new DnsServerStateError(`cannot start a DNS server that is ${this.#state}`);
    this.#state = 'running';
    try {
      await Promise.all(this.#listen.map((endpoint) => this.addListener(endpoint)));
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * Listens on one more address (idempotent). The address must already be on this host — for a
   * container network, after its bridge exists — or this rejects with `DnsListenerError`.
   */
  async addListener(endpoint: Endpoint): Promise<Endpoint> {
    if (this.#state !== 'running')
      throw new DnsServerStateError(`cannot add a listener to a ${this.#state} DNS server`);
    const requested = { address: canonicalAddress(endpoint.address), port: endpoint.port };
    const key = formatEndpoint(requested);
    let listener = this.#listeners.get(key);
    if (listener === undefined) {
      listener = this.#bind(requested);
      this.#listeners.set(key, listener);
      // A failed bind is forgotten, so that the agent can try again once the address exists.
      listener.catch(() => this.#listeners.delete(key));
    }
    return (await listener).bound;
  }

  /** Stops listening on an address, matched by the port asked for or the one bound (a no-op if unknown). */
  async removeListener(endpoint: Endpoint): Promise<void> {
    const address = canonicalAddress(endpoint.address);
    for (const [key, pending] of this.#listeners) {
      const listener = await pending.catch(() => undefined);
      if (listener === undefined || listener.requested.address !== address) continue;
      if (listener.requested.port !== endpoint.port && listener.bound.port !== endpoint.port) continue;
      this.#listeners.delete(key);
      await this.#close(key, listener);
    }
  }

  /** Closes every listener and forgets pending forwards; a stopped server cannot start again. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    const listeners = [...this.#listeners.entries()];
    this.#listeners.clear();
    await Promise.all(
      listeners.map(async ([key, pending]) => {
        const listener = await pending.catch(() => undefined);
        if (listener) await this.#close(key, listener);
      }),
    );
    await this.#forwarder.close();
  }

  async #bind(requested: Endpoint): Promise<Listener> {
    const family = isIP(requested.address);
    if (family === 0) throw new DnsListenerError(requested, 'not an IP address');
    let listener: Listener | undefined;
    for (let attempt = 1; listener === undefined; attempt += 1) {
      const socket = await bindUdp(requested, family);
      const port = socket.address().port;
      try {
        const tcp = await this.#listenTcp(requested.address, port);
        listener = { requested, bound: { address: requested.address, port }, socket, tcp };
      } catch (error) {
        if (requested.port !== 0) {
          // A port asked for by number, taken for TCP by someone else: UDP, which every resolver
          // tries first, still answers; truncated answers cannot be retried over TCP there.
          this.#log(`dns: ${formatEndpoint(requested)} serves UDP only: tcp ${describe(error)}`);
          listener = { requested, bound: { address: requested.address, port }, socket, tcp: undefined };
          break;
        }
        await closeSocket(socket);
        // A port the kernel chose for UDP can be in use for TCP: ask for another pair.
        if (attempt >= BIND_ATTEMPTS)
          throw new DnsListenerError(requested, `tcp: ${describe(error)}`, { cause: error });
      }
    }
    const { socket } = listener;
    socket.on('error', (error) => this.#log(`dns: listener ${formatEndpoint(requested)}: ${error.message}`));
    socket.on('message', (bytes, from) =>
      this.#onQuery(bytes, {
        address: from.address,
        port: from.port,
        limitBytes: undefined,
        reply: (reply) => this.#sendUdp(socket, from.address, from.port, reply),
      }),
    );
    // stop() may have run while we were binding; it could not see this socket yet.
    if (this.#state !== 'running') {
      await closeListener(listener);
      throw new DnsServerStateError('the DNS server stopped while a listener was being bound');
    }
    this.#bound.set(formatEndpoint(requested), listener);
    this.#log(
      `dns: listening on ${formatEndpoint(listener.bound)} (${listener.tcp ? 'udp and tcp' : 'udp'})`,
    );
    return listener;
  }

  #listenTcp(address: string, port: number): Promise<TcpServer> {
    const server = createTcpServer((connection) => this.#onConnection(connection));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address, port, ipv6Only: isIP(address) === 6, exclusive: true }, () => {
        server.removeListener('error', reject);
        server.on('error', (error) => this.#log(`dns: tcp listener ${address}:${port}: ${error.message}`));
        resolve(server);
      });
    });
  }

  #onConnection(connection: TcpSocket): void {
    if (this.#connections.size >= MAX_TCP_CONNECTIONS || this.#state !== 'running') {
      connection.destroy();
      return;
    }
    this.#connections.add(connection);
    connection.on('close', () => this.#connections.delete(connection));
    connection.on('error', () => connection.destroy());
    connection.setTimeout(TCP_IDLE_TIMEOUT_MS, () => connection.destroy());
    const reader = new TcpFrameReader();
    const asker: Asker = {
      address: connection.remoteAddress ?? '',
      port: connection.remotePort ?? 0,
      limitBytes: MAX_TCP_MESSAGE_BYTES,
      reply: (bytes) => {
        if (!connection.destroyed && connection.writable) connection.write(tcpFrame(bytes));
      },
    };
    connection.on('data', (chunk: Buffer) => {
      const read = reader.push(chunk);
      if (read.kind === 'invalid') {
        connection.destroy();
        return;
      }
      for (const message of read.messages) this.#onQuery(message, asker);
    });
  }

  async #close(key: string, listener: Listener): Promise<void> {
    this.#bound.delete(key);
    for (const connection of this.#connections)
      if (connection.localAddress === listener.bound.address && connection.localPort === listener.bound.port)
        connection.destroy();
    await closeListener(listener);
    this.#log(`dns: stopped listening on ${formatEndpoint(listener.bound)}`);
  }

  #onQuery(bytes: Buffer, from: Asker): void {
    try {
      this.#answer(bytes, from);
    } catch (error) {
      // The last line of defence for "nothing a client sends can throw out of here": even the
      // SERVFAIL below could fail to encode an odd question. The client will time out and retry.
      this.#log(`dns: dropped a query from ${from.address}:${from.port}: ${describe(error)}`);
    }
  }

  #answer(bytes: Buffer, from: Asker): void {
    const read = readQuery(bytes);
    if (read.kind === 'drop') return;
    if (read.kind === 'reject') {
      from.reply(statusReply(read, read.rcode));
      return;
    }
    const { query } = read;
    try {
      // Other classes (CHAOS `version.bind` and the like) are not ours to answer.
      const decision =
        query.question.class === undefined || query.question.class === 'IN'
          ? answerQuestion(query.question, from.address, this.#registry, { ttlSeconds: this.#ttlSeconds })
          : ({ kind: 'forward' } as const);
      if (decision.kind === 'forward') this.#forward(from, bytes, query);
      else from.reply(decisionReply(query, decision, from.limitBytes));
    } catch (error) {
      // A registry that throws or a record that will not encode is our bug, not the client's.
      this.#log(`dns: cannot answer ${query.question.name} ${query.question.type}: ${describe(error)}`);
      from.reply(statusReply(query, RCODE.SERVFAIL));
    }
  }

  /**
   * Relays over UDP whichever way the client asked: an upstream's truncated answer reaches a TCP
   * client truncated (it can ask the upstream itself); names outside the zone rarely need more.
   */
  #forward(from: Asker, bytes: Buffer, query: DnsQuery): void {
    // An upstream that is one of our own listeners would send the query straight back to us.
    const upstreams = this.#upstreams.filter(
      (upstream) => !this.listeners.some((own) => sameEndpoint(own, upstream)),
    );
    this.#forwarder.forward(bytes, upstreams, (outcome) => {
      if (outcome.kind === 'relayed') {
        from.reply(outcome.bytes);
        return;
      }
      if (outcome.kind === 'failed')
        this.#log(`dns: no upstream answered ${query.question.name} ${query.question.type}`);
      from.reply(statusReply(query, RCODE.SERVFAIL));
    });
  }

  #sendUdp(socket: Socket, address: string, port: number, bytes: Buffer): void {
    try {
      socket.send(bytes, port, address, (error) => {
        if (error) this.#log(`dns: cannot reply to ${address}:${port}: ${error.message}`);
      });
    } catch (error) {
      // The listener was removed while an upstream was still answering: the client will retry.
      this.#log(`dns: cannot reply to ${address}:${port}: ${describe(error)}`);
    }
  }
}

function bindUdp(requested: Endpoint, family: number): Promise<Socket> {
  // ipv6Only: `::` must not also take the IPv4 wildcard, which may belong to another listener.
  const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
  return new Promise((resolve, reject) => {
    socket.once('error', (error) => {
      void closeSocket(socket);
      reject(new DnsListenerError(requested, error.message, { cause: error }));
    });
    socket.bind(requested.port, requested.address, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

async function closeListener(listener: Listener): Promise<void> {
  await Promise.all([
    closeSocket(listener.socket),
    new Promise<void>((resolve) => (listener.tcp ? listener.tcp.close(() => resolve()) : resolve())),
  ]);
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
