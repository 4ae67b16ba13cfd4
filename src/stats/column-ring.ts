/**
 * A fixed-capacity ring of records of numbers, oldest first, kept in one array of doubles: what a
 * stats series holds. An object per sample costs about 150 bytes of heap (nine numbers, its shape,
 * its header): 10,000 replicas' five minutes were 92 MiB. Here a sample is 8 bytes per field, and
 * records are rebuilt when read (reads take the last two, or a window for the autoscaler).
 *
 * The array is a plain one that only ever holds numbers (V8 keeps it as unboxed doubles), not a
 * Float64Array: a typed array's object, its ArrayBuffer and the buffer's malloc'd store and
 * bookkeeping cost about 550 bytes beside the 144 of a replica's two samples, 5 MB for 10,000
 * replicas (bench:heap-summary). What the columns make of each field is worked out once per column
 * list and shared by the rings that use it.
 *
 * A field may be `nullable` (null is kept as NaN) or `optional` (absent is kept as NaN); a stored
 * NaN reads back as what the field allows. Other fields must be finite numbers (the wire schema
 * checks them), so a NaN never stands for a real value. A `text` field (a node's disk path) is kept
 * beside, one string shared by the records that repeat it.
 */

export interface ColumnSpec<K extends string> {
  readonly name: K;
  /** null ↔ NaN */
  readonly nullable?: true;
  /** absent ↔ NaN */
  readonly optional?: true;
  /** A string, not a number. */
  readonly text?: true;
}

interface ColumnLayout {
  /** Each column's index among the text columns (-1: a number column). */
  readonly textIndex: readonly number[];
  readonly textCount: number;
}

/** Layouts by column list: the rings of one kind (replicas, nodes) share theirs. */
const layouts = new WeakMap<readonly ColumnSpec<string>[], ColumnLayout>();

function layoutOf(columns: readonly ColumnSpec<string>[]): ColumnLayout {
  let layout = layouts.get(columns);
  if (!layout) {
    let texts = 0;
    layout = { textIndex: columns.map((c) => (c.text ? texts++ : -1)), textCount: texts };
    layouts.set(columns, layout);
  }
  return layout;
}

/** The texts of a ring without text columns: never written, so one serves all of them. */
const NO_TEXTS: (string | undefined)[] = [];

export class ColumnRing<T extends object> {
  readonly #columns: readonly ColumnSpec<Extract<keyof T, string>>[];
  /** Numbers only (NaN for null or absent), so V8 stores them as unboxed doubles. */
  readonly #values: number[];
  /** The text columns' values, `#textCount` a record (only text columns take room here). */
  readonly #texts: (string | undefined)[];
  /** Each column's index among the text columns (-1: a number column). */
  readonly #textIndex: readonly number[];
  readonly #textCount: number;
  readonly #capacity: number;
  /** Index of the oldest record. */
  #start = 0;
  #length = 0;

  constructor(capacity: number, columns: readonly ColumnSpec<Extract<keyof T, string>>[]) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`ring capacity ${capacity}: must be ≥ 1`);
    this.#capacity = capacity;
    this.#columns = columns;
    this.#values = new Array<number>(capacity * columns.length).fill(Number.NaN);
    const layout = layoutOf(columns);
    this.#textIndex = layout.textIndex;
    this.#textCount = layout.textCount;
    this.#texts =
      layout.textCount > 0 ? new Array<string | undefined>(capacity * layout.textCount) : NO_TEXTS;
  }

  get capacity(): number {
    return this.#capacity;
  }

  get length(): number {
    return this.#length;
  }

  push(record: T): void {
    let slot: number;
    if (this.#length < this.#capacity) {
      slot = (this.#start + this.#length) % this.#capacity;
      this.#length += 1;
    } else {
      slot = this.#start;
      this.#start = (this.#start + 1) % this.#capacity;
    }
    const base = slot * this.#columns.length;
    const textBase = slot * this.#textCount;
    const fields = record as Record<string, unknown>;
    const newest = this.#length > 1 ? ((slot + this.#capacity - 1) % this.#capacity) * this.#textCount : -1;
    this.#columns.forEach((column, i) => {
      const value = fields[column.name];
      const t = this.#textIndex[i] ?? -1;
      if (t >= 0) {
        const text = typeof value === 'string' ? value : undefined;
        const before = newest >= 0 ? this.#texts[newest + t] : undefined;
        this.#texts[textBase + t] = before === text ? before : text;
      } else this.#values[base + i] = typeof value === 'number' ? value : Number.NaN;
    });
  }

  /** The newest record, or the one `back` places before it (0: newest). */
  last(back = 0): T | undefined {
    if (back < 0 || back >= this.#length) return undefined;
    return this.#read((this.#start + this.#length - 1 - back) % this.#capacity);
  }

  /** One number of the newest record (NaN when there is none, or it holds none): no record built. */
  lastValue(name: keyof T & string): number {
    if (this.#length === 0) return Number.NaN;
    const column = this.#columns.findIndex((c) => c.name === name);
    const slot = (this.#start + this.#length - 1) % this.#capacity;
    if (column < 0 || this.#columns[column]?.text) return Number.NaN;
    return this.#values[slot * this.#columns.length + column] ?? Number.NaN;
  }

  /** A ring of another capacity holding the newest records of this one. */
  resized(capacity: number): ColumnRing<T> {
    const ring = new ColumnRing<T>(capacity, this.#columns);
    for (const record of this.toArray().slice(-capacity)) ring.push(record);
    return ring;
  }

  /** Oldest first, as fresh records. */
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#length; i++) out.push(this.#read((this.#start + i) % this.#capacity));
    return out;
  }

  #read(slot: number): T {
    const base = slot * this.#columns.length;
    const textBase = slot * this.#textCount;
    const record: Record<string, number | string | null> = {};
    this.#columns.forEach((column, i) => {
      const t = this.#textIndex[i] ?? -1;
      if (t >= 0) {
        const text = this.#texts[textBase + t];
        if (text !== undefined) record[column.name] = text;
        return;
      }
      const value = this.#values[base + i] ?? Number.NaN;
      if (!Number.isNaN(value)) record[column.name] = value;
      else if (column.nullable) record[column.name] = null;
      else if (!column.optional) record[column.name] = value;
    });
    return record as T;
  }
}
