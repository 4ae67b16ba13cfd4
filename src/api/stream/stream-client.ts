/**
 * One stream connection's pacing: changes offered by the hub are folded into one pending change
 * until the socket has drained, then sent as one message; a client too far behind (too many rows
 * waiting, or waiting too long, or too much in the socket's buffer) is not queued for: its backlog
 * is dropped and, once its socket drains, it is told `resync` and sent a fresh snapshot. The
 * socket and the clock come in, so the pacing is tested without a network.
 */
import type { SnapshotMessage, StreamServerMessage } from './messages.ts';
import { HEARTBEAT_INTERVAL_MS } from './messages.ts';
import type { StreamChanges } from './stream-state.ts';
import { isEmpty, mergeChanges, rowCount } from './stream-state.ts';

/** What the client needs of a WebSocket (ws's has these). */
export interface StreamSocket {
  send(text: string): void;
  /** Bytes queued in the socket, not yet written to the network. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
}

export interface ClientLimits {
  /** A message is sent only while less than this waits in the socket. */
  readonly lowWaterBytes: number;
  /** More rows than this waiting, and the client resyncs instead. */
  readonly maxPendingRows: number;
  /** Changes waiting longer than this, and the client resyncs instead. */
  readonly maxBehindMs: number;
}

export const CLIENT_LIMITS: ClientLimits = {
  lowWaterBytes: 256 * 1024,
  maxPendingRows: 20_000,
  maxBehindMs: 5_000,
};

export interface StreamClientOptions {
  readonly socket: StreamSocket;
  /** A fresh snapshot of the hub's current state. */
  readonly snapshot: () => SnapshotMessage;
  readonly now: () => number;
  readonly limits?: ClientLimits;
}

export class StreamClient {
  readonly #options: StreamClientOptions;
  readonly #limits: ClientLimits;
  /** The hub's epoch and the last seq this client was sent. */
  #epoch = '';
  #sentSeq = 0;
  #pending: StreamChanges | undefined;
  #pendingSeq = 0;
  #pendingSince = 0;
  #resync: string | undefined;
  #lastSentAt = 0;
  /** Resyncs this client needed (for tests and logs). */
  resyncs = 0;

  constructor(options: StreamClientOptions) {
    this.#options = options;
    this.#limits = options.limits ?? CLIENT_LIMITS;
  }

  /** Sends the first snapshot. */
  start(): void {
    this.#sendSnapshot();
  }

  /** The client asked for a snapshot (it saw a gap). */
  requestResync(): void {
    this.#resync = 'requested by the client';
    this.#pending = undefined;
    this.flush();
  }

  /** The hub's change to `seq`; sent now if the socket has room, else folded into what waits. */
  offer(changes: StreamChanges, seq: number): void {
    if (this.#resync === undefined && !isEmpty(changes)) {
      if (this.#pending === undefined) {
        this.#pending = changes;
        this.#pendingSince = this.#options.now();
      } else {
        this.#pending = mergeChanges(this.#pending, changes);
      }
    }
    // Even an empty change moves the seq the next message starts from.
    this.#pendingSeq = seq;
    this.flush();
  }

  /** Sends what waits if the socket has room; decides a resync if the client is too far behind. */
  flush(): void {
    const { socket, now } = this.#options;
    const roomy = socket.bufferedAmount < this.#limits.lowWaterBytes;
    if (this.#resync !== undefined) {
      if (roomy) {
        this.#send({ type: 'resync', reason: this.#resync });
        this.#resync = undefined;
        this.#sendSnapshot();
      }
      return;
    }
    const pending = this.#pending;
    if (pending === undefined) {
      // Nothing to say, but the seq moved: the next message must start where the hub is.
      if (roomy) this.#sentSeq = this.#pendingSeq;
      return;
    }
    if (roomy) {
      const at = new Date(now()).toISOString();
      this.#send({
        type: 'changes',
        epoch: this.#epoch,
        seq: this.#pendingSeq,
        at,
        from: this.#sentSeq,
        ...pending,
      });
      this.#sentSeq = this.#pendingSeq;
      this.#pending = undefined;
      return;
    }
    const behindMs = now() - this.#pendingSince;
    if (rowCount(pending) > this.#limits.maxPendingRows || behindMs > this.#limits.maxBehindMs) {
      this.#pending = undefined;
      this.#resync =
        behindMs > this.#limits.maxBehindMs
          ? `the client fell more than ${this.#limits.maxBehindMs / 1000} s behind`
          : `more than ${this.#limits.maxPendingRows} rows waited for the client`;
      this.resyncs++;
    }
  }

  /** A heartbeat when nothing was sent for a while, so the client knows the stream is alive. */
  heartbeat(): void {
    const { now, socket } = this.#options;
    if (now() - this.#lastSentAt < HEARTBEAT_INTERVAL_MS) return;
    if (socket.bufferedAmount >= this.#limits.lowWaterBytes) return;
    this.#send({
      type: 'heartbeat',
      epoch: this.#epoch,
      seq: this.#sentSeq,
      at: new Date(now()).toISOString(),
    });
  }

  close(code: number, reason: string): void {
    this.#send({ type: 'error', error: reason });
    this.#options.socket.close(code, reason);
  }

  #sendSnapshot(): void {
    const snapshot = this.#options.snapshot();
    this.#epoch = snapshot.epoch;
    this.#send(snapshot);
    this.#sentSeq = snapshot.seq;
    this.#pendingSeq = snapshot.seq;
  }

  #send(message: StreamServerMessage): void {
    this.#lastSentAt = this.#options.now();
    this.#options.socket.send(JSON.stringify(message));
  }
}
