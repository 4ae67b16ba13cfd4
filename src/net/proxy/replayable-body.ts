/**
 * Streams a client's request body to the current upstream attempt, with backpressure, and keeps
 * a bounded copy of what it sent so a retry can start the body again on another backend. The
 * client is read only once an attempt is attached (after its connection is up), so a refused
 * connect costs no body at all; the copy matters only for a reset on a reused keep-alive socket.
 * Past `limitBytes` the copy is dropped and the exchange is no longer retryable.
 */
import type { Readable, Writable } from 'node:stream';

export class ReplayableBody {
  readonly #source: Readable;
  readonly #limitBytes: number;
  #copy: Buffer[] = [];
  #copyBytes = 0;
  #copying = true;
  #overflowed = false;
  #ended = false;
  #target: Writable | undefined;

  constructor(source: Readable, limitBytes: number) {
    this.#source = source;
    this.#limitBytes = limitBytes;
    // Paused before the first 'data' listener so attaching it does not start the flow.
    source.pause();
    source.on('data', (chunk: Buffer) => this.#onData(chunk));
    source.once('end', () => {
      this.#ended = true;
      this.#target?.end();
    });
  }

  /** Whether everything sent so far can be sent again. */
  get replayable(): boolean {
    return !this.#overflowed;
  }

  /** Sends the body from its start to `target`, then keeps streaming into it. */
  attach(target: Writable): void {
    this.#target = target;
    for (const chunk of this.#copy) target.write(chunk);
    if (this.#ended) target.end();
    else this.#source.resume();
  }

  /** The attempt failed: stop feeding it. */
  detach(): void {
    this.#target = undefined;
    this.#source.pause();
  }

  /** A response has started, so there will be no retry: free the copy. */
  stopCopying(): void {
    this.#copying = false;
    this.#copy = [];
    this.#copyBytes = 0;
  }

  #onData(chunk: Buffer): void {
    if (this.#copying) {
      this.#copyBytes += chunk.length;
      if (this.#copyBytes > this.#limitBytes) {
        this.#overflowed = true;
        this.stopCopying();
      } else {
        this.#copy.push(chunk);
      }
    }
    const target = this.#target;
    if (target === undefined) return;
    if (!target.write(chunk)) {
      this.#source.pause();
      target.once('drain', () => {
        if (this.#target === target) this.#source.resume();
      });
    }
  }
}

/** The body of a request that has none (no Content-Length, no Transfer-Encoding): nothing to copy or stream. */
export class EmptyBody {
  readonly replayable = true;

  attach(target: Writable): void {
    target.end();
  }

  detach(): void {}

  stopCopying(): void {}
}

/** A request body for `source`: empty without framing headers (most GETs), else replayable. */
export function requestBody(
  source: Readable & { readonly headers: Record<string, string | string[] | undefined> },
  limitBytes: number,
): ReplayableBody | EmptyBody {
  const length = source.headers['content-length'];
  const empty = source.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
  return empty ? new EmptyBody() : new ReplayableBody(source, limitBytes);
}
