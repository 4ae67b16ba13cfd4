/**
 * Time for simulated components: a clock that tells the time and schedules. `systemClock` is the
 * wall clock; `VirtualClock` only moves when told to, so a whole cluster runs in virtual time in
 * one thread and a run replays exactly.
 */

/** A handle returned by `setTimeout`, opaque to callers. */
export type TimerHandle = { readonly id: number } | NodeJS.Timeout;

export interface SimClock {
  /** Epoch ms (virtual for a VirtualClock). */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const systemClock: SimClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => {
    if (handle !== undefined && !isVirtual(handle)) clearTimeout(handle);
  },
};

interface VirtualTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly callback: () => void;
}

function isVirtual(handle: TimerHandle): handle is { readonly id: number } {
  return typeof handle === 'object' && handle !== null && 'id' in handle && typeof handle.id === 'number';
}

/**
 * Timers fire in due order, ties in the order they were set, only inside `advance`/`runUntil`.
 * A timer set for the past fires at the current time, never earlier.
 */
export class VirtualClock implements SimClock {
  #now: number;
  #nextId = 1;
  /** Kept sorted by (dueAt, id); simulations hold hundreds of timers, not millions. */
  #timers: VirtualTimer[] = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.#nextId++, dueAt: this.#now + Math.max(0, delayMs), callback };
    let at = this.#timers.length;
    while (at > 0 && (this.#timers[at - 1]?.dueAt ?? 0) > timer.dueAt) at--;
    this.#timers.splice(at, 0, timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined || !isVirtual(handle)) return;
    this.#timers = this.#timers.filter((t) => t.id !== handle.id);
  }

  /** Timers still to fire. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the next timer is due, or undefined when none is set. */
  nextDueAt(): number | undefined {
    return this.#timers[0]?.dueAt;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way (also those that the fired
   * ones set, when they fall inside the window). Awaits the microtasks each callback queued, so
   * promise chains settle before time moves on.
   */
  async advance(ms: number): Promise<void> {
    await this.runUntil(this.#now + ms);
  }

  async runUntil(untilMs: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.dueAt > untilMs) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.dueAt);
      next.callback();
      await settle();
    }
    this.#now = Math.max(this.#now, untilMs);
  }
}

/**
 * Lets queued promise callbacks run. A macrotask turn (setImmediate) drains every microtask,
 * including the chains that async functions build one `await` at a time.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
