/**
 * The etcd store's memory of its keys, in two layers (pure: no I/O, the store does that):
 * - **confirmed**: every key under the prefix as etcd holds it, with its mod and create
 *   revisions; fed by the initial load, the watch, and this process's own commits. A delete this
 *   process committed stays as a tombstone until the watch has passed its revision, so an older
 *   watch event arriving after the commit's answer cannot bring the key back.
 * - **pending**: the batches staged and not yet committed, in order. A key's visible value is the
 *   newest pending write of it, else its confirmed value.
 * Each staged write remembers what it was based on (a confirmed mod revision, or an earlier
 * pending batch): that is what the batch's transaction compares, so a write decided on a value
 * another server has since changed is refused instead of overwriting it.
 */

export interface ConfirmedEntry {
  /** null: deleted by this process at `mod`, kept until the watch passes it. */
  readonly value: string | null;
  readonly mod: number;
  readonly create: number;
}

export interface PendingBatch {
  readonly id: number;
  /** key → the new value, or null to delete; in staging order. */
  readonly writes: Map<string, string | null>;
  /** key → what the first write of it in this batch was based on. */
  readonly bases: Map<string, number | PendingBatch>;
  /** key → the revision its write was committed at (a batch too large for one etcd transaction is
   * committed in parts, each at its own revision). */
  readonly revisions: Map<string, number>;
}

/** What changed for readers: keys whose visible value is now different. */
export type VisibleChange = { readonly key: string; readonly value: string | undefined };

export class KvMirror {
  readonly #confirmed = new Map<string, ConfirmedEntry>();
  /** key → its newest pending write. */
  readonly #overlay = new Map<string, { value: string | null; batch: PendingBatch }>();
  #pending: PendingBatch[] = [];
  #tombstones: { key: string; mod: number }[] = [];
  #nextBatchId = 1;

  get pendingBatches(): readonly PendingBatch[] {
    return this.#pending;
  }

  visible(key: string): string | undefined {
    const over = this.#overlay.get(key);
    if (over) return over.value ?? undefined;
    return this.#confirmed.get(key)?.value ?? undefined;
  }

  confirmed(key: string): ConfirmedEntry | undefined {
    return this.#confirmed.get(key);
  }

  /** Every key with a visible value that starts with `prefix`. */
  *visibleKeys(prefix: string): Iterable<string> {
    for (const [key, entry] of this.#confirmed)
      if (key.startsWith(prefix) && !this.#overlay.has(key) && entry.value !== null) yield key;
    for (const [key, over] of this.#overlay) if (key.startsWith(prefix) && over.value !== null) yield key;
  }

  openBatch(): PendingBatch {
    const batch: PendingBatch = {
      id: this.#nextBatchId++,
      writes: new Map(),
      bases: new Map(),
      revisions: new Map(),
    };
    this.#pending.push(batch);
    return batch;
  }

  /** Stages a write into `batch` (the newest pending one). */
  stage(batch: PendingBatch, key: string, value: string | null): void {
    if (!batch.bases.has(key)) {
      const over = this.#overlay.get(key);
      const known = this.#confirmed.get(key);
      // A key absent from etcd (never written, or deleted: a tombstone) compares as mod revision 0.
      batch.bases.set(
        key,
        over && over.batch !== batch ? over.batch : known && known.value !== null ? known.mod : 0,
      );
    }
    batch.writes.set(key, value);
    this.#overlay.set(key, { value, batch });
  }

  /** The mod revision a write was based on, once what it was based on has committed. */
  baseRevision(batch: PendingBatch, key: string): number {
    const base = batch.bases.get(key);
    if (base === undefined) throw new Error(`key ${key} was not staged in batch ${batch.id}`);
    if (typeof base === 'number') return base;
    // Based on an earlier batch's delete: the key is absent, whose mod revision compares as 0.
    if (base.writes.get(key) === null) return 0;
    const revision = base.revisions.get(key);
    if (revision === undefined)
      throw new Error(`batch ${batch.id} committed before batch ${base.id} it was staged on`);
    return revision;
  }

  /** These writes of `batch` were committed at `revision`. */
  confirmWrites(batch: PendingBatch, keys: Iterable<string>, revision: number): void {
    for (const key of keys) {
      const value = batch.writes.get(key);
      if (value === undefined) continue;
      batch.revisions.set(key, revision);
      const before = this.#confirmed.get(key);
      const create = value === null ? 0 : before && before.value !== null ? before.create : revision;
      this.#confirmed.set(key, { value, mod: revision, create });
      if (value === null) this.#tombstones.push({ key, mod: revision });
      if (this.#overlay.get(key)?.batch === batch) this.#overlay.delete(key);
    }
  }

  /** Every write of `batch` is confirmed (or it was empty): it leaves the pending layer. */
  finish(batch: PendingBatch): void {
    this.#pending = this.#pending.filter((b) => b !== batch);
  }

  /**
   * Drops `from` and every batch staged after it (they were staged on top of it), and returns the
   * keys whose visible value changed back, with what they show now.
   */
  drop(from: PendingBatch): { dropped: PendingBatch[]; changes: VisibleChange[] } {
    const at = this.#pending.indexOf(from);
    if (at < 0) return { dropped: [], changes: [] };
    const dropped = this.#pending.slice(at);
    this.#pending = this.#pending.slice(0, at);
    const keys = new Set<string>();
    for (const batch of dropped) for (const key of batch.writes.keys()) keys.add(key);
    for (const key of keys) this.#overlay.delete(key);
    for (const batch of this.#pending)
      for (const [key, value] of batch.writes) if (keys.has(key)) this.#overlay.set(key, { value, batch });
    return { dropped, changes: [...keys].map((key) => ({ key, value: this.visible(key) })) };
  }

  /**
   * A change seen in etcd (watch, load, a conflict's answer). Returns the visible change, or
   * undefined when readers see nothing new: older than what is known, or hidden under a pending
   * write (which will then fail its compare, or has just been committed over it).
   */
  observe(key: string, value: string | null, mod: number, create: number): VisibleChange | undefined {
    const known = this.#confirmed.get(key);
    if (known && known.mod >= mod) return undefined;
    if (value === null) this.#confirmed.delete(key);
    else this.#confirmed.set(key, { value, mod, create });
    if (this.#overlay.has(key)) return undefined;
    if (known?.value === value || (known?.value == null && value === null)) return undefined;
    return { key, value: value ?? undefined };
  }

  /** The watch has seen every revision up to `revision`: tombstones at or below it can go. */
  watchedUpTo(revision: number): void {
    if (this.#tombstones.length === 0 || (this.#tombstones[0]?.mod ?? 0) > revision) return;
    const keep: { key: string; mod: number }[] = [];
    for (const stone of this.#tombstones) {
      if (stone.mod > revision) keep.push(stone);
      else if (this.#confirmed.get(stone.key)?.value === null) this.#confirmed.delete(stone.key);
    }
    this.#tombstones = keep;
  }

  /** Every confirmed key and value under `prefix` (for a reload's comparison). */
  confirmedEntries(): Iterable<[string, ConfirmedEntry]> {
    return this.#confirmed.entries();
  }
}
