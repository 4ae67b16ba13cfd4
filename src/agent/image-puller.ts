/**
 * The agent's image pulls: at most `concurrency` at once on this node (a rollout that needs ten
 * images does not open ten downloads against one disk and link), each ended after `timeoutMs`
 * (the engine cancels a pull whose client goes away), and one pull per reference and credential
 * however many replicas wait for it.
 */
import type { ContainerEngine } from '../docker/container-engine.ts';
import { Semaphore } from './semaphore.ts';

export interface ImagePullerOptions {
  readonly engine: ContainerEngine;
  readonly concurrency: number;
  readonly timeoutMs: number;
}

export const DEFAULT_PULL_CONCURRENCY = 3;
export const DEFAULT_PULL_TIMEOUT_MS = 5 * 60_000;

export class ImagePuller {
  readonly #options: ImagePullerOptions;
  readonly #semaphore: Semaphore;
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(options: ImagePullerOptions) {
    this.#options = options;
    this.#semaphore = new Semaphore(options.concurrency);
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs;
  }

  /** Resolves once `reference` is pulled; a pull of the same reference and credential in flight is shared. */
  pull(reference: string, auth: string | undefined): Promise<void> {
    const key = `${reference}\u0000${auth ?? ''}`;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = this.#semaphore
        .run(() =>
          this.#options.engine.pullImage(reference, {
            auth,
            signal: AbortSignal.timeout(this.#options.timeoutMs),
          }),
        )
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }
}
