/**
 * Slows down guessing: each non-loopback address has a bucket of failed authentications that
 * refills at a steady rate; an address whose bucket is empty is answered 429 (with how long to
 * wait) without its token being looked at. Pure: `now` comes in; the map is bounded.
 */
export interface LimiterSettings {
  /** Failures allowed in a burst. */
  readonly burst: number;
  /** Failures forgiven per second afterwards. */
  readonly refillPerSecond: number;
  /** Addresses remembered at most; the least recently failed are forgotten first. */
  readonly maxAddresses: number;
}

export const DEFAULT_LIMITER: LimiterSettings = { burst: 10, refillPerSecond: 1, maxAddresses: 10_000 };

interface Bucket {
  tokens: number;
  atMs: number;
}

export class FailedAuthLimiter {
  readonly #settings: LimiterSettings;
  readonly #buckets = new Map<string, Bucket>();

  constructor(settings: LimiterSettings = DEFAULT_LIMITER) {
    this.#settings = settings;
  }

  /** Milliseconds the address must wait before it may try again; 0 when it may try now. */
  retryAfterMs(address: string, nowMs: number): number {
    const bucket = this.#refilled(address, nowMs);
    if (!bucket || bucket.tokens >= 1) return 0;
    return Math.ceil(((1 - bucket.tokens) / this.#settings.refillPerSecond) * 1000);
  }

  recordFailure(address: string, nowMs: number): void {
    const bucket = this.#refilled(address, nowMs) ?? { tokens: this.#settings.burst, atMs: nowMs };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    // Re-inserted so the map's order is least recently failed first.
    this.#buckets.delete(address);
    this.#buckets.set(address, bucket);
    while (this.#buckets.size > this.#settings.maxAddresses) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest === undefined) break;
      this.#buckets.delete(oldest);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }

  #refilled(address: string, nowMs: number): Bucket | undefined {
    const bucket = this.#buckets.get(address);
    if (!bucket) return undefined;
    const elapsedS = Math.max(0, nowMs - bucket.atMs) / 1000;
    bucket.tokens = Math.min(this.#settings.burst, bucket.tokens + elapsedS * this.#settings.refillPerSecond);
    bucket.atMs = nowMs;
    if (bucket.tokens >= this.#settings.burst) {
      // Full again: nothing left to remember.
      this.#buckets.delete(address);
      return undefined;
    }
    return bucket;
  }
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms: the server's own host, never slowed down. */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}
