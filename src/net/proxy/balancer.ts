/**
 * Picks the backend for the next connection or request of one route — round-robin, or least
 * connections with ties broken round-robin — skipping the backends already tried for this client.
 * It owns the active-connection counts the least-connections strategy reads. No I/O and no clock:
 * the same calls give the same picks, so it is unit-tested exhaustively and reusable by the
 * cluster simulator.
 */

export type Strategy = 'round-robin' | 'least-connections';

export interface Backend {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

/** A release without a matching acquire: a bookkeeping bug in the caller, never a network event. */
export class BalancerStateError extends Error {
  override readonly name = 'BalancerStateError';
}

const NOTHING_EXCLUDED: ReadonlySet<string> = new Set();

export class Balancer {
  strategy: Strategy;
  // The cursor is the last pick by id and by position. The id keeps the rotation fair when
  // backends are added or removed elsewhere in the list; the position takes over when the last
  // pick itself was removed, because its successor now sits at that position.
  #lastId: string | undefined;
  #lastIndex = -1;
  readonly #active = new Map<string, number>();

  constructor(strategy: Strategy) {
    this.strategy = strategy;
  }

  pick(backends: readonly Backend[], exclude: ReadonlySet<string> = NOTHING_EXCLUDED): Backend | undefined {
    const count = backends.length;
    if (count === 0) return undefined;
    const start = this.#startIndex(backends);
    let chosen: Backend | undefined;
    let chosenIndex = -1;
    let chosenActive = Number.POSITIVE_INFINITY;
    for (let step = 0; step < count; step++) {
      const index = (start + step) % count;
      const backend = backends[index];
      if (backend === undefined || exclude.has(backend.id)) continue;
      if (this.strategy === 'round-robin') {
        chosen = backend;
        chosenIndex = index;
        break;
      }
      // Strictly fewer: among equals the first in round-robin order wins, so ties rotate.
      const active = this.active(backend.id);
      if (active < chosenActive) {
        chosen = backend;
        chosenIndex = index;
        chosenActive = active;
      }
    }
    if (chosen !== undefined) {
      this.#lastId = chosen.id;
      this.#lastIndex = chosenIndex;
    }
    return chosen;
  }

  acquire(id: string): void {
    this.#active.set(id, this.active(id) + 1);
  }

  release(id: string): void {
    const active = this.active(id);
    if (active === 0) throw new BalancerStateError(`release of ${id} without an acquire`);
    // Deleting at zero keeps the map bounded by the backends that are busy right now.
    if (active === 1) this.#active.delete(id);
    else this.#active.set(id, active - 1);
  }

  active(id: string): number {
    return this.#active.get(id) ?? 0;
  }

  #startIndex(backends: readonly Backend[]): number {
    if (this.#lastId === undefined) return 0;
    const count = backends.length;
    // Fast path: the list did not move under the cursor (the common case between updates).
    const index =
      backends[this.#lastIndex]?.id === this.#lastId
        ? this.#lastIndex
        : backends.findIndex((backend) => backend.id === this.#lastId);
    if (index >= 0) return (index + 1) % count;
    return this.#lastIndex % count;
  }
}
