/**
 * A fixed-capacity ring of values, oldest first: pushing onto a full ring drops the oldest. What
 * keeps a replica's window of samples bounded however long it runs.
 */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  /** Index of the oldest item. */
  #start = 0;
  #length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`ring capacity ${capacity}: must be ≥ 1`);
    this.#items = new Array<T | undefined>(capacity);
  }

  get capacity(): number {
    return this.#items.length;
  }

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    const capacity = this.#items.length;
    if (this.#length < capacity) {
      this.#items[(this.#start + this.#length) % capacity] = item;
      this.#length += 1;
      return;
    }
    this.#items[this.#start] = item;
    this.#start = (this.#start + 1) % capacity;
  }

  /** The newest item, or the one `back` places before it (0: newest). */
  last(back = 0): T | undefined {
    if (back < 0 || back >= this.#length) return undefined;
    return this.#items[(this.#start + this.#length - 1 - back) % this.#items.length];
  }

  /** Oldest first, as a fresh array (the ring itself is never handed out). */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#length; i++) out.push(this.#items[(this.#start + i) % this.#items.length] as T);
    return out;
  }
}
