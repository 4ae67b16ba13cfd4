/**
 * Relays queries that are not ours to the host's upstream resolvers, one at a time in order: the
 * raw query goes out under a fresh random id from our own (randomly bound) socket, the first
 * reply whose id and source match comes back with the client's id restored, and an upstream that
 * stays silent for `timeoutMs` hands the query to the next one. It owns the pending table and its
 * bound; it knows nothing of our zone, and the caller turns "failed"/"saturated" into SERVFAIL.
 */
import { randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { isResponse, messageId, withMessageId } from './dns-message.ts';
import { type Endpoint, sameEndpoint } from './endpoint.ts';
import { formatEndpoint } from './errors.ts';

export type ForwardOutcome =
  /** The upstream's reply, as it sent it but for the id, which is the client's again. */
  | { kind: 'relayed'; bytes: Buffer; upstream: Endpoint }
  /** Every upstream timed out or could not be sent to (or there were none). */
  | { kind: 'failed' }
  /** Too many queries are already waiting on upstreams; this one was not sent. */
  | { kind: 'saturated' };

export interface ForwarderOptions {
  readonly timeoutMs: number;
  readonly maxPending: number;
  readonly log: (message: string) => void;
}

interface Forward {
  readonly query: Buffer;
  readonly clientId: number;
  readonly upstreams: readonly Endpoint[];
  readonly done: (outcome: ForwardOutcome) => void;
}

interface Attempt {
  readonly forward: Forward;
  readonly index: number;
  readonly upstream: Endpoint;
  readonly timer: NodeJS.Timeout;
}

const ID_SPACE = 0x1_0000;

export class UpstreamForwarder {
  readonly #options: ForwarderOptions;
  /** In-flight attempts by the id we sent; a forward has at most one attempt in flight. */
  readonly #pending = new Map<number, Attempt>();
  readonly #sockets = new Map<'udp4' | 'udp6', Socket>();
  #closed = false;
  #saturationLogged = false;

  constructor(options: ForwarderOptions) {
    // Ids are drawn from 16 bits and a forward holds one at a time, so the bound must leave room.
    if (
      !Number.isInteger(options.maxPending) ||
      options.maxPending < 1 ||
      options.maxPending > ID_SPACE / 2
    ) {
      throw new RangeError(`maxPending must be 1..${ID_SPACE / 2}, got ${options.maxPending}`);
    }
    if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
    this.#options = options;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sends `query` (a client's raw message) upstream; `done` is called exactly once. */
  forward(query: Buffer, upstreams: readonly Endpoint[], done: (outcome: ForwardOutcome) => void): void {
    const clientId = messageId(query);
    if (this.#closed || clientId === undefined) {
      done({ kind: 'failed' });
      return;
    }
    if (this.#pending.size >= this.#options.maxPending) {
      if (!this.#saturationLogged) {
        this.#options.log(`dns: ${this.#pending.size} queries already wait on upstreams; answering SERVFAIL`);
        this.#saturationLogged = true;
      }
      done({ kind: 'saturated' });
      return;
    }
    this.#saturationLogged = false;
    this.#attempt({ query, clientId, upstreams, done }, 0);
  }

  /** Forgets every pending forward without answering it and closes the sockets. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const attempt of this.#pending.values()) clearTimeout(attempt.timer);
    this.#pending.clear();
    const sockets = [...this.#sockets.values()];
    this.#sockets.clear();
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }

  #attempt(forward: Forward, index: number): void {
    const upstream = forward.upstreams[index];
    if (upstream === undefined || this.#closed) {
      forward.done({ kind: 'failed' });
      return;
    }
    // A fresh id per attempt: a late reply from an upstream we gave up on finds nothing to match.
    const id = this.#freshId();
    const timer = setTimeout(() => {
      if (this.#pending.get(id)?.timer !== timer) return;
      this.#pending.delete(id);
      this.#options.log(
        `dns: upstream ${formatEndpoint(upstream)} did not answer in ${this.#options.timeoutMs} ms`,
      );
      this.#attempt(forward, index + 1);
    }, this.#options.timeoutMs);
    this.#pending.set(id, { forward, index, upstream, timer });
    const onSendError = (error: Error) => {
      const attempt = this.#pending.get(id);
      if (attempt?.timer !== timer) return;
      clearTimeout(timer);
      this.#pending.delete(id);
      this.#options.log(`dns: cannot send to upstream ${formatEndpoint(upstream)}: ${error.message}`);
      this.#attempt(forward, index + 1);
    };
    try {
      this.#socketFor(upstream).send(
        withMessageId(forward.query, id),
        upstream.port,
        upstream.address,
        (error) => {
          if (error) onSendError(error);
        },
      );
    } catch (error) {
      // `send` throws synchronously for a closed socket or a bad address; treat it as this upstream failing.
      onSendError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #onReply(bytes: Buffer, from: RemoteInfo): void {
    const id = messageId(bytes);
    if (id === undefined || !isResponse(bytes)) return;
    const attempt = this.#pending.get(id);
    // Only the upstream we asked may answer under this id: anything else is stale or spoofed.
    if (attempt === undefined) return;
    if (!sameEndpoint(from, attempt.upstream)) return;
    clearTimeout(attempt.timer);
    this.#pending.delete(id);
    attempt.forward.done({
      kind: 'relayed',
      bytes: withMessageId(bytes, attempt.forward.clientId),
      upstream: attempt.upstream,
    });
  }

  #freshId(): number {
    // Terminates quickly: at most half the id space is ever in use (checked in the constructor).
    for (;;) {
      const id = randomInt(ID_SPACE);
      if (!this.#pending.has(id)) return id;
    }
  }

  #socketFor(upstream: Endpoint): Socket {
    const type = isIPv6(upstream.address) ? 'udp6' : 'udp4';
    const existing = this.#sockets.get(type);
    if (existing) return existing;
    // Unbound: the first send binds it to a random port, which is part of what makes replies hard to spoof.
    const socket = createSocket({ type });
    socket.on('message', (bytes, from) => this.#onReply(bytes, from));
    socket.on('error', (error) => this.#options.log(`dns: upstream socket (${type}): ${error.message}`));
    this.#sockets.set(type, socket);
    return socket;
  }
}
