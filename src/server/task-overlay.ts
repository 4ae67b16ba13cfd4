/**
 * The pass's view of the task table: the snapshot's tasks with the pass's own changes laid over
 * them, never a copy of the whole table. At 10,000 tasks, copying them into a working map (and
 * again to tell what changed) was a third of an idle pass; here an idle pass copies nothing (the
 * index by id is built on the first lookup, which an idle pass does not make), and what changed
 * is the overlay itself. Order: the snapshot's, with replaced records in place and
 * new ones after, as a Map the pass filled itself would iterate.
 */
import type { TaskRecord } from '../model/task.ts';

export class TaskOverlay {
  readonly #list: readonly TaskRecord[];
  #index: Map<string, TaskRecord> | undefined;
  /** id → the record now, or null: deleted. */
  readonly #changes = new Map<string, TaskRecord | null>();
  /** Every task as it is now, in order; rebuilt after a change, on the next read. */
  #current: readonly TaskRecord[] | undefined;

  constructor(tasks: readonly TaskRecord[]) {
    this.#list = tasks;
    this.#current = tasks;
  }

  get #base(): Map<string, TaskRecord> {
    if (this.#index) return this.#index;
    const index = new Map<string, TaskRecord>();
    for (const task of this.#list) index.set(task.id, task);
    this.#index = index;
    return index;
  }

  get(id: string): TaskRecord | undefined {
    const changed = this.#changes.get(id);
    if (changed === undefined) return this.#base.get(id);
    return changed ?? undefined;
  }

  /** The record as the snapshot had it. */
  original(id: string): TaskRecord | undefined {
    return this.#base.get(id);
  }

  set(task: TaskRecord): void {
    this.#changes.set(task.id, task);
    this.#current = undefined;
  }

  delete(id: string): void {
    if (this.#base.has(id)) this.#changes.set(id, null);
    else this.#changes.delete(id);
    this.#current = undefined;
  }

  /** Every task now, in order. The array is not changed by later writes (a snapshot of the view). */
  values(): readonly TaskRecord[] {
    if (this.#current) return this.#current;
    const out: TaskRecord[] = [];
    for (const task of this.#list) {
      const changed = this.#changes.get(task.id);
      if (changed === undefined) out.push(task);
      else if (changed !== null) out.push(changed);
    }
    for (const [id, task] of this.#changes) if (task !== null && !this.#base.has(id)) out.push(task);
    this.#current = out;
    return out;
  }

  /** Whether this pass added or deleted a task, or changed where one runs or whether it should. */
  placementsChanged(): boolean {
    for (const [id, after] of this.#changes) {
      const before = this.#base.get(id);
      if (!before || !after || before.nodeId !== after.nodeId || before.desiredState !== after.desiredState)
        return true;
    }
    return false;
  }

  /** The snapshot's tasks that this pass replaced or deleted: [id, before, after (undefined: deleted)]. */
  *changed(): Iterable<[string, TaskRecord, TaskRecord | undefined]> {
    for (const [id, after] of this.#changes) {
      const before = this.#base.get(id);
      if (before && after !== before) yield [id, before, after ?? undefined];
    }
  }
}
