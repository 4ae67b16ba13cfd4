/**
 * The event log: every lifecycle step is appended to the store (bounded: the oldest are pruned)
 * and handed to live subscribers (`/api/events?follow=true`) once the store has committed it, with
 * its id; on etcd that includes the events other servers wrote.
 */
import type { EventInput, SkiffEvent } from '../model/event.ts';
import type { Store } from '../store/store.ts';

export const DEFAULT_EVENT_RETENTION = 10_000;

export class EventLog {
  readonly #store: Store;
  readonly #retention: number;
  #sincePrune = 0;

  constructor(store: Store, retention = DEFAULT_EVENT_RETENTION) {
    this.#store = store;
    this.#retention = retention;
  }

  append(input: EventInput, at: number): void {
    this.#store.appendEvent(input, at);
    // Pruning every append would cost a DELETE per event; every hundredth keeps the bound loose but cheap.
    if (++this.#sincePrune >= 100) {
      this.#sincePrune = 0;
      this.#store.pruneEvents(this.#retention);
    }
  }

  subscribe(listener: (event: SkiffEvent) => void): () => void {
    return this.#store.subscribeEvents(listener);
  }
}
