/**
 * The event log: every lifecycle step is appended to the store (bounded: the oldest are pruned)
 * and handed to live subscribers (`/api/events?follow=true`).
 */
import type { EventInput, SkiffEvent } from '../model/event.ts';
import type { Store } from '../store/store.ts';

export const DEFAULT_EVENT_RETENTION = 10_000;

export class EventLog {
  readonly #store: Store;
  readonly #retention: number;
  readonly #subscribers = new Set<(event: SkiffEvent) => void>();
  #sincePrune = 0;

  constructor(store: Store, retention = DEFAULT_EVENT_RETENTION) {
    this.#store = store;
    this.#retention = retention;
  }

  append(input: EventInput, at: number): SkiffEvent {
    const event = this.#store.appendEvent(input, at);
    // Pruning every append would cost a DELETE per event; every hundredth keeps the bound loose but cheap.
    if (++this.#sincePrune >= 100) {
      this.#sincePrune = 0;
      this.#store.pruneEvents(this.#retention);
    }
    for (const subscriber of this.#subscribers) subscriber(event);
    return event;
  }

  subscribe(listener: (event: SkiffEvent) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }
}
