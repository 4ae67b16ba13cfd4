/**
 * Messages to one agent's WebSocket, a large one as fragments of one message written one after
 * the other. Why: over TLS, each write of N bytes (N ≥ 16 KB) makes Node's encrypted-output
 * buffer of that connection (its `NodeBIO` ring) allocate about N bytes, and the ring keeps its
 * buffers for the connection's life: the 1.3 MB endpoints set of a fill to 10,000 replicas, sent
 * to 1,000 connections, left 1.3 GB of malloc'd memory behind (the server's RSS 1.5 GB at idle,
 * V8's heap 100 MB of it). Writes of at most `FRAGMENT_BYTES` keep the ring's buffers at 16 KB.
 *
 * Fragments are written one at a time, the next once the last one's write completed: writes
 * made while one is pending are joined into one (a socket's writev) and would be one large
 * write again. A WebSocket message cannot be interleaved with another (control frames, such as
 * ws's pongs, can), so while one is in fragments later messages wait behind it, in order. The
 * fragments are views of the message's buffer, which is shared with every other connection
 * sent the same message (`sendSerialised`): nothing is copied per connection but the frames'
 * headers. A shared `WriteBudget` bounds what all connections' fragments write in one turn of
 * the event loop, as the endpoints outbox bounds whole messages.
 */

/** What a fragmented message's write needs of a WebSocket (ws's `WebSocket`). */
export interface FrameSocket {
  send(data: Buffer | string, options: { binary: boolean; fin: boolean }, cb: (error?: Error) => void): void;
  readonly bufferedAmount: number;
}

/**
 * Just under 16 KB, with room for a frame's header and a control frame joined to the same write (a
 * pong): Node sizes the buffer for a write of N ≥ 16 KB at (⌊N / 16 KB⌋ + 1) × 16.04 KB and keeps it,
 * and a smaller write goes into its ordinary 16 KB buffers. Measured with `bench:rss-floor`'s
 * SKIFF_FLOOR_SEND_BYTES (1,000 mutual-TLS connections, three writes each): 15,000-byte writes left
 * 15 KB a connection, 24,000-byte ones 30 KB, 64,000-byte ones 63 KB. Just under 32 KB (the size
 * before) kept a typical delta under churn (24 KB at 1,000 nodes) one write, at 33 KB a connection.
 */
export const FRAGMENT_BYTES = 16 * 1024 - 512;

/** Fragments written in one turn of the event loop over every connection, in bytes (~10 ms of TLS). */
export const FRAGMENT_BYTES_PER_TURN = 2 * 1024 * 1024;

/**
 * A budget of bytes per turn of the event loop, shared by connections: a fragment that finds it
 * spent waits for the next turn (`setImmediate`), in the order it asked.
 */
export class WriteBudget {
  readonly #bytesPerTurn: number;
  #spent = 0;
  #waiting: Array<{ readonly bytes: number; readonly write: () => void }> = [];
  /** The next turn's start: the budget is spent again from zero, waiting writes first. */
  #turn: NodeJS.Immediate | undefined;

  constructor(bytesPerTurn = FRAGMENT_BYTES_PER_TURN) {
    this.#bytesPerTurn = bytesPerTurn;
  }

  /** Runs `write` now when this turn's budget has room for it, else in a later turn. */
  take(bytes: number, write: () => void): void {
    if (this.#waiting.length === 0 && this.#spent < this.#bytesPerTurn) {
      this.#spent += bytes;
      this.#nextTurn();
      write();
      return;
    }
    this.#waiting.push({ bytes, write });
    this.#nextTurn();
  }

  #nextTurn(): void {
    if (this.#turn) return;
    this.#turn = setImmediate(() => {
      this.#turn = undefined;
      this.#spent = 0;
      while (this.#spent < this.#bytesPerTurn) {
        const next = this.#waiting.shift();
        if (!next) break;
        this.#spent += next.bytes;
        next.write();
      }
      // Something was written this turn, or waits: the turn after starts from zero again.
      if (this.#spent > 0 || this.#waiting.length > 0) this.#nextTurn();
    });
  }
}

export class FragmentedSender {
  readonly #socket: FrameSocket;
  readonly #fragmentBytes: number;
  readonly #budget: WriteBudget | undefined;
  /** Messages waiting, the first being written; `#offset` bytes of it are written. */
  #queue: Buffer[] = [];
  #offset = 0;
  /** Bytes of the queue not yet handed to the socket. */
  #queuedBytes = 0;
  /** A fragment's write is pending (or waits for the budget). */
  #writing = false;
  /** A write failed: the connection is closing, and what waits is dropped. */
  #failed = false;

  constructor(socket: FrameSocket, options: { fragmentBytes?: number; budget?: WriteBudget } = {}) {
    this.#socket = socket;
    this.#fragmentBytes = options.fragmentBytes ?? FRAGMENT_BYTES;
    this.#budget = options.budget;
  }

  /** Bytes not yet sent: queued here, and written to the socket but not yet taken by it. */
  get bufferedBytes(): number {
    return this.#queuedBytes + this.#socket.bufferedAmount;
  }

  /** Sends a text message (JSON): at once when small and nothing waits, else after what waits. */
  send(data: Buffer | string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8: a string this short is small without measuring.
    const small =
      typeof data === 'string'
        ? data.length * 3 <= this.#fragmentBytes || Buffer.byteLength(data) <= this.#fragmentBytes
        : data.length <= this.#fragmentBytes;
    if (small && this.#queue.length === 0) {
      this.#socket.send(data, { binary: false, fin: true }, ignore);
      return;
    }
    if (this.#failed) return;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    if (!this.#writing) this.#next();
  }

  #next(): void {
    const message = this.#queue[0];
    if (!message || this.#failed) return;
    this.#writing = true;
    const end = Math.min(message.length, this.#offset + this.#fragmentBytes);
    const write = () => {
      const piece = message.subarray(this.#offset, end);
      const fin = end === message.length;
      this.#offset = fin ? 0 : end;
      if (fin) this.#queue.shift();
      this.#queuedBytes -= piece.length;
      this.#socket.send(piece, { binary: false, fin }, (error) => {
        this.#writing = false;
        if (error) {
          this.#failed = true;
          this.#queue = [];
          this.#queuedBytes = 0;
          return;
        }
        this.#next();
      });
    };
    if (this.#budget) this.#budget.take(end - this.#offset, write);
    else write();
  }
}

function ignore(): void {}
