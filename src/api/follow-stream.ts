/**
 * A follow stream (`/events?follow=true`, `/logs?follow=true`) that respects its reader's pace.
 * Every write is counted until the reader has taken it; a follower more than `maxBehindBytes` or
 * `maxBehindMs` behind is sent one last line saying so and disconnected. Without this, paused
 * followers held every event ever written in the server's memory.
 */
import type { StreamingApi } from 'hono/utils/stream';

export interface FollowLimits {
  readonly maxBehindBytes: number;
  readonly maxBehindMs: number;
}

export const FOLLOW_LIMITS: FollowLimits = { maxBehindBytes: 1024 * 1024, maxBehindMs: 5000 };

/** How often a follower that is sent nothing new is checked for having fallen behind. */
const CHECK_INTERVAL_MS = 1000;

export interface FollowStreamOptions {
  readonly limits?: FollowLimits;
  readonly now?: () => number;
  /** The last line, saying why the stream ends. */
  readonly finalLine: (reason: string) => string;
  /** Called once when the follower is cut off: stop feeding it. */
  readonly onCutOff: (reason: string) => void;
}

export class FollowStream {
  readonly #out: StreamingApi;
  readonly #options: FollowStreamOptions;
  readonly #limits: FollowLimits;
  readonly #now: () => number;
  /** Writes the reader has not taken yet, oldest first. */
  readonly #pending: { readonly bytes: number; readonly at: number }[] = [];
  #pendingBytes = 0;
  #cutOff = false;
  readonly #timer: NodeJS.Timeout;

  constructor(out: StreamingApi, options: FollowStreamOptions) {
    this.#out = out;
    this.#options = options;
    this.#limits = options.limits ?? FOLLOW_LIMITS;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => this.#check(), CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  get cutOff(): boolean {
    return this.#cutOff;
  }

  write(text: string): void {
    if (this.#cutOff || this.#check()) return;
    const entry = { bytes: Buffer.byteLength(text), at: this.#now() };
    this.#pending.push(entry);
    this.#pendingBytes += entry.bytes;
    void this.#out.write(text).then(() => {
      // Writes complete in order: the oldest pending one is this one.
      this.#pending.shift();
      this.#pendingBytes -= entry.bytes;
    });
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Cuts the follower off if it is too far behind; returns true when it has been. */
  #check(): boolean {
    if (this.#cutOff) return true;
    const reason = this.#behind();
    if (reason === undefined) return false;
    this.#cutOff = true;
    this.stop();
    const out = this.#out;
    void out.write(this.#options.finalLine(reason)).then(() => out.close());
    this.#options.onCutOff(reason);
    return true;
  }

  #behind(): string | undefined {
    const { maxBehindBytes, maxBehindMs } = this.#limits;
    if (this.#pendingBytes > maxBehindBytes) {
      return `the reader fell more than ${Math.round(maxBehindBytes / 1024)} KiB behind`;
    }
    const oldest = this.#pending[0];
    if (oldest && this.#now() - oldest.at > maxBehindMs) {
      return `the reader fell more than ${maxBehindMs / 1000}s behind`;
    }
    return undefined;
  }
}
