/**
 * The etcd store: the Store port (../store.ts) over every key under one prefix of an etcd
 * cluster. Reads come from an in-memory mirror (kv-mirror.ts, parsed by etcd-tables.ts) loaded at
 * one revision and fed by a watch from the next, so a controller pass's snapshot costs no round
 * trip. Writes are staged on the mirror (visible at once to this process) as batches, one per
 * `transaction()`, and committed in order as etcd transactions (batches that wait are committed
 * together) that compare every rewritten key's mod revision and the write guard. A commit that
 * fails undoes its batch, and every batch staged after it, in memory.
 */
import { randomBytes } from 'node:crypto';
import type { Etcd3, IKeyValue, IRequestOp, ITxnResponse, Watcher } from 'etcd3';
import { MAX_EPOCH_MS, MAX_EVENT_MESSAGE_CHARS, truncateText } from '../../model/bounds.ts';
import type { EventInput, SkiffEvent } from '../../model/event.ts';
import type { NodeAvailability, NodeRegistration } from '../../model/node.ts';
import type { Rollout } from '../../model/rollout.ts';
import type { ServiceSpec } from '../../model/service-spec.ts';
import { canonicalSpec } from '../../model/service-spec.ts';
import type { DesiredState, Task, TaskObservation, TaskRecord } from '../../model/task.ts';
import { taskObservationSchema } from '../../model/task.ts';
import {
  AllocationExhaustedError,
  NotLeaderError,
  StoreConflictError,
  StoreUnavailableError,
} from '../errors.ts';
import { rolloutTo, unchangedService } from '../service-put.ts';
import type {
  AllocationKind,
  EventQuery,
  Store,
  StoredAllocation,
  StoredNode,
  StoredRevision,
  StoredService,
  StoredTask,
  StoreHealth,
  WriteGuard,
} from '../store.ts';
import { REVISION_HISTORY } from '../store.ts';
import type { WriteOwner } from '../write-owner.ts';
import { writeOwner } from '../write-owner.ts';
import type { EtcdTlsFiles } from './etcd-client.ts';
import { classifyEtcdError, createEtcdClient, errorText } from './etcd-client.ts';
import {
  DEFAULT_ETCD_PREFIX,
  EVENT_ID_SPAN,
  encode,
  eventRecord,
  keys,
  parseJson,
  parseKey,
} from './etcd-layout.ts';
import { EtcdTables } from './etcd-tables.ts';
import { EtcdUpkeep } from './etcd-upkeep.ts';
import type { PendingBatch, VisibleChange } from './kv-mirror.ts';
import { KvMirror } from './kv-mirror.ts';

export interface EtcdStoreOptions {
  readonly endpoints: readonly string[];
  /** Every key lives under it (default /skiff); several clusters can share one etcd. */
  readonly prefix?: string;
  readonly tls?: EtcdTlsFiles;
  /** An etcd client to use (and not close) instead of one made from endpoints and tls. */
  readonly client?: Etcd3;
  /** How long a commit is retried through elections and member loss before it fails (ms). */
  readonly writeDeadlineMs?: number;
  /** At most this many operations per etcd transaction (etcd's --max-txn-ops); halved on refusal. */
  readonly maxTxnOps?: number;
  /** At most about this many bytes per etcd transaction (below etcd's --max-request-bytes). */
  readonly maxTxnBytes?: number;
  /** How often history is compacted (ms); 0: never. */
  readonly compactEveryMs?: number;
  /** How often etcd's alarms are read (ms); 0: never. */
  readonly alarmCheckMs?: number;
  readonly log?: (message: string) => void;
}

interface BatchState {
  readonly batch: PendingBatch;
  /** The API request it was written for (write-owner.ts), if any. */
  readonly owner: WriteOwner | undefined;
  readonly guard: WriteGuard | null;
  /** Events staged in it, by key: their place in the batch is in the record. */
  eventCount: number;
  sealed: boolean;
  settled: boolean;
  error: unknown;
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const PAGE = 1000;
/** One commit attempt's deadline (ms); a slow but healthy etcd answers a big batch well within it. */
const ATTEMPT_MS = 750;

export class EtcdStore implements Store {
  readonly kind = 'etcd';
  readonly client: Etcd3;
  /** The prefix every key is under, without a trailing slash. */
  readonly prefix: string;
  /** This store's name among the writers of the cluster (its events' and markers' keys). */
  readonly writerId = randomBytes(6).toString('hex');
  readonly #ownsClient: boolean;
  readonly #options: EtcdStoreOptions;
  readonly #log: (message: string) => void;
  readonly #mirror = new KvMirror();
  readonly #tables: EtcdTables;
  readonly #batches = new Map<number, BatchState>();
  /** Batches sealed and waiting for (or in) their commit, oldest first. */
  #queue: BatchState[] = [];
  #committing = false;
  /** Batches to commit one at a time (after their group was refused for a conflict). */
  #singles = 0;
  #open: BatchState | undefined;
  #depth = 0;
  #guard: WriteGuard | null = null;
  #eventSeq = 0;
  #lastBatchId = 0;
  /** Failures of recent batches (id → error), for `durable(since)` asked after they settled. */
  readonly #failures = new Map<number, unknown>();
  /** The first failure of each owner's writes (write-owner.ts). */
  readonly #ownerFailures = new WeakMap<WriteOwner, unknown>();
  #watcher: Watcher | undefined;
  #watchedRevision = 0;
  readonly #changeListeners = new Set<() => void>();
  readonly #eventListeners = new Set<(event: SkiffEvent) => void>();
  #changeScheduled = false;
  #maxTxnOps: number;
  #problem: { reason: StoreUnavailableError['reason']; message: string } | null = null;
  #closed = false;
  #upkeep: EtcdUpkeep | undefined;
  /** While a write was refused for want of etcd, the read that proves it back (#watchProblem). */
  #recheck: ReturnType<typeof setInterval> | undefined;
  #rechecking = false;

  private constructor(options: EtcdStoreOptions) {
    this.#options = options;
    this.#log = options.log ?? (() => {});
    this.prefix = (options.prefix ?? DEFAULT_ETCD_PREFIX).replace(/\/+$/, '') || DEFAULT_ETCD_PREFIX;
    this.#ownsClient = options.client === undefined;
    this.client = options.client ?? createEtcdClient(options.endpoints, options.tls);
    this.#maxTxnOps = options.maxTxnOps ?? 10_000;
    this.#tables = new EtcdTables((key) =>
      this.#log(`etcd store: unreadable value at ${this.prefix}/${key}, ignored`),
    );
  }

  /** Connects, loads every key at one revision and watches from the next. */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const store = new EtcdStore(options);
    try {
      await store.#load();
    } catch (error) {
      if (store.#ownsClient) store.client.close();
      throw new StoreUnavailableError(
        'unreachable',
        `cannot load the cluster state from etcd at ${options.endpoints.join(',')}: ${errorText(error)}`,
        { cause: error },
      );
    }
    store.#upkeep = new EtcdUpkeep({
      client: store.client,
      compactEveryMs: options.compactEveryMs ?? 5 * 60_000,
      alarmCheckMs: options.alarmCheckMs ?? 10_000,
      revision: () => store.#watchedRevision,
      log: store.#log,
      onNoSpace: (raised) => {
        if (raised) store.#problem = { reason: 'no-space', message: NO_SPACE_ADVICE };
        else if (store.#problem?.reason === 'no-space') store.#problem = null;
      },
    });
    return store;
  }

  get #root(): string {
    return `${this.prefix}/`;
  }

  async #load(): Promise<void> {
    const { revision, kvs } = await this.#rangeAll();
    for (const kv of kvs) this.#observe(kv, false);
    this.#watchedRevision = revision;
    this.#startWatch(revision + 1);
  }

  /** Every key under the prefix at one revision, a page at a time. */
  async #rangeAll(): Promise<{ revision: number; kvs: IKeyValue[] }> {
    const end = rangeEnd(this.#root);
    let from = Buffer.from(this.#root);
    let revision: string | undefined;
    const kvs: IKeyValue[] = [];
    for (;;) {
      const page = await this.client.kv.range(
        { key: from, range_end: end, limit: PAGE, ...(revision ? { revision } : {}) },
        { deadline: Date.now() + 10_000 },
      );
      revision ??= page.header.revision;
      kvs.push(...page.kvs);
      const last = page.kvs.at(-1);
      if (!page.more || !last) break;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { revision: Number(revision), kvs };
  }

  #startWatch(fromRevision: number): void {
    const watcher = this.client.watch().prefix(this.#root).startRevision(String(fromRevision)).watcher();
    this.#watcher = watcher;
    watcher.on('data', (response) => {
      if (this.#watcher !== watcher) return;
      let changed = false;
      for (const event of response.events) {
        const kv = event.kv;
        if (event.type === 'Delete') kv.value = Buffer.alloc(0);
        if (this.#observe(kv, event.type === 'Delete')) changed = true;
      }
      const revision = Number(response.header.revision);
      if (revision > this.#watchedRevision) this.#watchedRevision = revision;
      this.#mirror.watchedUpTo(this.#watchedRevision);
      if (changed) this.#changed();
    });
    watcher.on('error', (error) => {
      if (this.#watcher !== watcher || this.#closed) return;
      // Compacted past where the watch stood (it was away too long): load everything again.
      this.#log(`etcd store: watch ended (${errorText(error)}); reloading`);
      this.#watcher = undefined;
      void watcher.cancel().catch(() => {});
      void this.#reload();
    });
  }

  async #reload(): Promise<void> {
    for (let delay = 100; !this.#closed; delay = Math.min(delay * 2, 2000)) {
      try {
        const { revision, kvs } = await this.#rangeAll();
        const present = new Set<string>();
        let changed = false;
        for (const kv of kvs) {
          present.add(kv.key.toString().slice(this.#root.length));
          if (this.#observe(kv, false)) changed = true;
        }
        for (const [key, entry] of [...this.#mirror.confirmedEntries()]) {
          if (entry.value !== null && !present.has(key) && entry.mod <= revision) {
            const change = this.#mirror.observe(key, null, revision, 0);
            if (change) {
              this.#project(change);
              changed = true;
            }
          }
        }
        this.#watchedRevision = Math.max(this.#watchedRevision, revision);
        this.#startWatch(revision + 1);
        if (changed) this.#changed();
        return;
      } catch (error) {
        this.#log(`etcd store: reload failed (${errorText(error)}); retrying`);
        await sleep(delay);
      }
    }
  }

  /** A key as etcd holds it (load, watch, a failed compare's answer): true if readers see a change. */
  #observe(kv: IKeyValue, deleted: boolean): boolean {
    const key = kv.key.toString().slice(this.#root.length);
    const mod = Number(kv.mod_revision);
    const value = deleted ? null : kv.value.toString();
    const table = parseKey(key).table;
    // Writers' commit markers are for their own writers (see #commitChunk), not state.
    if (table === 'writer') return false;
    if (table === 'event') {
      const known = this.#mirror.confirmed(key);
      if (known && known.mod >= mod) return false;
      this.#mirror.observe(key, value, mod, Number(kv.create_revision));
      const event = this.#tables.applyEvent(key, value ?? undefined, Number(kv.create_revision));
      if (event) for (const listener of this.#eventListeners) listener(event);
      return false;
    }
    const change = this.#mirror.observe(key, value, mod, Number(kv.create_revision));
    if (!change) return false;
    this.#project(change);
    return true;
  }

  #project(change: VisibleChange): void {
    if (parseKey(change.key).table === 'event') return;
    this.#tables.apply(change.key, change.value);
  }

  #changed(): void {
    if (this.#changeScheduled || this.#changeListeners.size === 0) return;
    this.#changeScheduled = true;
    setImmediate(() => {
      this.#changeScheduled = false;
      for (const listener of this.#changeListeners) listener();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#seal();
    await Promise.allSettled([...this.#batches.values()].map((b) => b.done));
    this.#closed = true;
    this.#upkeep?.stop();
    clearInterval(this.#recheck);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    await watcher?.cancel().catch(() => {});
    if (this.#ownsClient) this.client.close();
  }

  // The port's plumbing

  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  subscribeEvents(listener: (event: SkiffEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  setWriteGuard(guard: WriteGuard | null): void {
    // Batches staged before keep the guard they were staged under.
    if (this.#open && this.#depth === 0) this.#seal();
    this.#guard = guard;
  }

  /**
   * A refused write leaves the store unwritable until etcd proves otherwise. A later write that
   * commits does, but nothing may be written for a while (a deploy repeated unchanged writes
   * nothing), so a read that needs a quorum as a write does (linearizable, the default) is tried
   * every second until one answers.
   */
  #watchProblem(): void {
    if (this.#recheck || this.#closed) return;
    this.#recheck = setInterval(() => void this.#recheckQuorum(), 1000);
    this.#recheck.unref();
  }

  async #recheckQuorum(): Promise<void> {
    const problem = this.#problem;
    if (!problem || problem.reason === 'no-space' || this.#closed) {
      clearInterval(this.#recheck);
      this.#recheck = undefined;
      return;
    }
    if (this.#rechecking) return;
    this.#rechecking = true;
    try {
      await this.client.get(`${this.#root}${keys.meta('cluster-id')}`).exists();
      if (this.#problem === problem) this.#problem = null;
    } catch {
      // Still refused: the next tick tries again.
    } finally {
      this.#rechecking = false;
    }
  }

  health(): StoreHealth {
    return {
      kind: 'etcd',
      writable: this.#problem === null,
      problem: this.#problem?.message ?? null,
      revision: this.#watchedRevision,
      location: `etcd://${this.#options.endpoints.map((e) => e.replace(/^\w+:\/\//, '')).join(',')}${this.prefix}`,
    };
  }

  writeMark(): number {
    return this.#lastBatchId;
  }

  durable(since?: number | WriteOwner): Promise<void> {
    if (this.#open && this.#depth === 0) this.#seal();
    const waiting: Promise<void>[] = [];
    if (typeof since === 'object') {
      const failed = this.#ownerFailures.get(since);
      if (failed !== undefined) return Promise.reject(failed);
      for (const state of this.#batches.values()) if (state.owner === since) waiting.push(state.done);
      return Promise.all(waiting).then(() => {});
    }
    if (since === undefined) {
      // Without a mark: what is pending, and the newest batch's failure if it failed.
      const newest = this.#failures.get(this.#lastBatchId);
      if (newest !== undefined) return Promise.reject(newest);
      since = 0;
    } else for (const [id, error] of this.#failures) if (id > since) return Promise.reject(error);
    for (const state of this.#batches.values()) if (state.batch.id > since) waiting.push(state.done);
    return Promise.all(waiting).then(() => {});
  }

  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    // Writes made outside a transaction earlier in this turn are a batch of their own.
    if (this.#open) this.#seal();
    this.#depth = 1;
    let result: T;
    try {
      result = fn();
    } catch (error) {
      this.#depth = 0;
      const open = this.#open;
      this.#open = undefined;
      if (open) this.#fail(open, error, { report: false });
      throw error;
    }
    this.#depth = 0;
    this.#seal();
    return result;
  }

  // Staging

  #batch(): BatchState {
    if (this.#closed) throw new StoreUnavailableError('closed', 'the etcd store is closed');
    const owner = writeOwner.getStore();
    if (this.#open) {
      if (this.#open.owner === owner || this.#depth > 0) return this.#open;
      // Another request's writes in the same turn: a batch of their own, so each is told its own outcome.
      this.#seal();
    }
    const batch = this.#mirror.openBatch();
    let resolve: () => void = () => {};
    let reject: (error: unknown) => void = () => {};
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be waiting: a failure is also reported through durable() and the log.
    done.catch(() => {});
    const state: BatchState = {
      batch,
      owner,
      guard: this.#guard,
      eventCount: 0,
      sealed: false,
      settled: false,
      error: undefined,
      done,
      resolve,
      reject,
    };
    this.#batches.set(batch.id, state);
    this.#lastBatchId = batch.id;
    this.#open = state;
    if (this.#depth === 0) queueMicrotask(() => this.#open === state && this.#seal());
    return state;
  }

  #put(key: string, value: string, typed?: unknown): void {
    this.#mirror.stage(this.#batch().batch, key, value);
    this.#tables.apply(key, value, typed);
  }

  #delete(key: string): void {
    if (this.#mirror.visible(key) === undefined) return;
    this.#mirror.stage(this.#batch().batch, key, null);
    this.#tables.apply(key, undefined);
  }

  #seal(): void {
    const state = this.#open;
    this.#open = undefined;
    if (!state) return;
    state.sealed = true;
    if (state.batch.writes.size === 0) {
      this.#mirror.finish(state.batch);
      this.#settle(state);
      return;
    }
    this.#queue.push(state);
    void this.#pump();
  }

  #settle(state: BatchState, error?: unknown): void {
    if (state.settled) return;
    state.settled = true;
    this.#batches.delete(state.batch.id);
    if (error === undefined) state.resolve();
    else {
      state.error = error;
      if (state.owner) this.#ownerFailures.set(state.owner, error);
      this.#failures.set(state.batch.id, error);
      if (this.#failures.size > 1000) {
        const oldest = this.#failures.keys().next().value;
        if (oldest !== undefined) this.#failures.delete(oldest);
      }
      state.reject(error);
    }
  }

  /** Undoes `state` and every batch staged after it, in memory, and fails them. */
  #fail(state: BatchState, error: unknown, { report }: { report: boolean }): void {
    const { dropped, changes } = this.#mirror.drop(state.batch);
    for (const change of changes) this.#project(change);
    const gone = new Set(dropped.map((b) => b.id));
    this.#queue = this.#queue.filter((s) => !gone.has(s.batch.id));
    if (this.#open && gone.has(this.#open.batch.id)) this.#open = undefined;
    // A transaction whose function threw wrote nothing: nothing to wait for, nothing failed.
    for (const batch of dropped) {
      const dead = this.#batches.get(batch.id);
      if (dead) this.#settle(dead, report ? error : undefined);
    }
    if (report) this.#changed();
  }

  // Committing

  async #pump(): Promise<void> {
    if (this.#committing) return;
    this.#committing = true;
    try {
      while (this.#queue.length > 0) {
        const group = this.#takeGroup();
        await this.#commitGroup(group);
      }
    } finally {
      this.#committing = false;
    }
  }

  /** The oldest waiting batches that fit one transaction under one guard. */
  #takeGroup(): BatchState[] {
    const first = this.#queue[0];
    if (!first) return [];
    const group = [first];
    if (this.#singles > 0) {
      this.#singles--;
      this.#queue = this.#queue.slice(1);
      return group;
    }
    const keysSeen = new Set(first.batch.writes.keys());
    let events = first.eventCount;
    for (let i = 1; i < this.#queue.length; i++) {
      const next = this.#queue[i];
      if (!next || next.guard !== first.guard) break;
      // Events are numbered across the group (their ids share its revision).
      if (events + next.eventCount >= EVENT_ID_SPAN) break;
      events += next.eventCount;
      const more = [...next.batch.writes.keys()].filter((k) => !keysSeen.has(k)).length;
      if (keysSeen.size + more > this.#maxTxnOps - 2) break;
      for (const key of next.batch.writes.keys()) keysSeen.add(key);
      group.push(next);
    }
    this.#queue = this.#queue.slice(group.length);
    return group;
  }

  async #commitGroup(group: BatchState[]): Promise<void> {
    const first = group[0];
    if (!first) return;
    let committedAny = false;
    try {
      // The first write of each key in the group says what it was based on; the last one wins.
      const writes = new Map<string, { value: string | null; base: number; batch: PendingBatch }>();
      // Events get their place anew across the group: batches number theirs from 0 each, and an
      // event's id (commit revision × EVENT_ID_SPAN + place) must be unique.
      let place = 0;
      for (const state of group) {
        for (const [key, staged] of state.batch.writes) {
          let value = staged;
          if (value !== null && state.eventCount > 0 && parseKey(key).table === 'event') {
            value = renumberEvent(value, place++);
            state.batch.writes.set(key, value);
          }
          const earlier = writes.get(key);
          writes.set(key, {
            value,
            base: earlier?.base ?? this.#mirror.baseRevision(state.batch, key),
            batch: state.batch,
          });
        }
      }
      let remaining = [...writes.entries()];
      while (remaining.length > 0) {
        const chunk = this.#nextChunk(remaining);
        let revision: number;
        try {
          revision = await this.#commitChunk(chunk, first.guard, group);
        } catch (error) {
          // This etcd takes fewer operations per transaction than assumed: split smaller.
          if (error instanceof TooLargeError && this.#maxTxnOps > 16) {
            this.#maxTxnOps = Math.max(16, Math.floor(Math.min(this.#maxTxnOps, chunk.length + 2) / 2));
            this.#log(
              `etcd store: transaction too large for etcd; at most ${this.#maxTxnOps} operations now`,
            );
            continue;
          }
          throw error;
        }
        remaining = remaining.slice(chunk.length);
        committedAny = true;
        const byBatch = new Map<PendingBatch, string[]>();
        for (const [key] of chunk) {
          for (const state of group) {
            if (state.batch.writes.has(key)) {
              const list = byBatch.get(state.batch) ?? [];
              list.push(key);
              byBatch.set(state.batch, list);
            }
          }
        }
        for (const [batch, list] of byBatch) this.#mirror.confirmWrites(batch, list, revision);
        for (const [key, write] of chunk) {
          if (parseKey(key).table !== 'event') continue;
          const event = this.#tables.applyEvent(key, write.value ?? undefined, revision);
          if (event) for (const listener of this.#eventListeners) listener(event);
        }
      }
      if (this.#problem?.reason !== 'no-space') this.#problem = null;
      for (const state of group) {
        this.#mirror.finish(state.batch);
        this.#settle(state);
      }
    } catch (error) {
      // A conflict refuses the whole group; batches that did not cause it deserve their own try.
      if (error instanceof StoreConflictError && group.length > 1 && !committedAny) {
        this.#queue.unshift(...group);
        this.#singles = group.length;
        return;
      }
      if (error instanceof StoreUnavailableError) {
        this.#problem = { reason: error.reason, message: error.message };
        this.#watchProblem();
      }
      this.#log(`etcd store: write refused: ${errorText(error)}`);
      this.#fail(first, error, { report: true });
    }
  }

  /** The first writes that fit etcd's limits (ops, and bytes below its request limit). */
  #nextChunk<T extends [string, { value: string | null }]>(entries: readonly T[]): T[] {
    const maxBytes = this.#options.maxTxnBytes ?? 1024 * 1024;
    let bytes = 0;
    let count = 0;
    for (const entry of entries) {
      const size = entry[0].length * 3 + (entry[1].value?.length ?? 0) + 64;
      if (count > 0 && (count >= this.#maxTxnOps - 2 || bytes + size > maxBytes)) break;
      count++;
      bytes += size;
    }
    return entries.slice(0, count);
  }

  /** One guarded etcd transaction, retried through elections; its revision, or a named error. */
  async #commitChunk(
    chunk: [string, { value: string | null; base: number }][],
    guard: WriteGuard | null,
    group: readonly BatchState[],
  ): Promise<number> {
    const marker = `${group[0]?.batch.id ?? 0}-${group.at(-1)?.batch.id ?? 0}-${chunk[0]?.[0] ?? ''}`;
    const full = (key: string) => Buffer.from(this.#root + key);
    const writerKey = full(keys.writer(this.writerId));
    // Event keys are each writer's own and only ever created or deleted (pruning, by any server):
    // nothing to compare, so two servers pruning the same old events never refuse each other.
    const compared = chunk.filter(([key]) => parseKey(key).table !== 'event');
    const compare = [
      ...guardCompares(guard),
      ...compared.map(([key, w]) => ({
        key: full(key),
        target: 'Mod' as const,
        result: 'Equal' as const,
        mod_revision: String(w.base),
      })),
    ];
    const success: IRequestOp[] = chunk.map(([key, w]) =>
      w.value === null
        ? { request_delete_range: { key: full(key) } }
        : { request_put: { key: full(key), value: Buffer.from(w.value) } },
    );
    success.push({ request_put: { key: writerKey, value: Buffer.from(marker) } });
    const failure: IRequestOp[] = [
      { request_range: { key: writerKey } },
      ...(guard ? [{ request_range: { key: Buffer.from(guard.key) } }] : []),
      ...compared.map(([key]) => ({ request_range: { key: full(key) } })),
    ];
    const response = await this.#send({ compare, success, failure });
    if (response.succeeded) return Number(response.header.revision);
    const [writerRange, ...rest] = response.responses;
    const applied = writerRange?.response_range.kvs[0];
    // A retried attempt whose first try was applied after all: the marker says so.
    if (applied && applied.value.toString() === marker) return Number(applied.mod_revision);
    if (guard) {
      const held = rest.shift()?.response_range.kvs[0];
      const why = guardFailure(guard, held);
      if (why) throw new NotLeaderError(guard.key, why);
    }
    const conflicts: string[] = [];
    compared.forEach(([key, w], i) => {
      const kv = rest[i]?.response_range.kvs[0];
      const now = kv ? Number(kv.mod_revision) : 0;
      if (now === w.base) return;
      conflicts.push(`${this.prefix}/${key}`);
      // Catch up at once on what changed, so the caller's next decision sees it.
      if (kv) this.#observe(kv, false);
      else {
        const change = this.#mirror.observe(key, null, Number(response.header.revision), 0);
        if (change) this.#project(change);
      }
    });
    throw new StoreConflictError(conflicts);
  }

  async #send(request: Parameters<Etcd3['kv']['txn']>[0]): Promise<ITxnResponse> {
    const deadline = Date.now() + (this.#options.writeDeadlineMs ?? 5000);
    let delay = 50;
    let last: unknown;
    for (;;) {
      if (this.#closed && this.#ownsClient)
        throw new StoreUnavailableError('closed', 'the etcd store is closed');
      try {
        // A member without a leader holds a proposal until its own timeout (seconds): a short
        // attempt, retried, gets through soon after a new etcd leader is elected (1–1.5 s). An
        // attempt that was applied after all is known by its marker (see #commitChunk).
        return await this.client.kv.txn(request, { deadline: Math.min(Date.now() + ATTEMPT_MS, deadline) });
      } catch (error) {
        // The breaker's own refusal says nothing about etcd: keep the error that opened it.
        if (last === undefined || !/circuit breaker/i.test(errorText(error))) last = error;
        const kind = classifyEtcdError(error);
        if (kind === 'no-space')
          throw new StoreUnavailableError('no-space', NO_SPACE_ADVICE, { cause: error });
        if (kind === 'too-large') throw new TooLargeError(errorText(error));
        if (kind !== 'retry' || Date.now() + delay >= deadline) break;
        await sleep(delay);
        delay = Math.min(delay * 2, 400);
      }
    }
    const text = errorText(last);
    const unreachable = /ECONNREFUSED|EHOSTUNREACH|connect|No connection established/i.test(text);
    throw new StoreUnavailableError(
      unreachable ? 'unreachable' : 'no-quorum',
      unreachable
        ? `etcd cannot be reached (${text}); writes resume when it can`
        : `etcd has no quorum or no leader (${text}): fewer than a majority of its members are up; writes resume when they return`,
      { cause: last },
    );
  }

  // Meta

  getMeta(key: string): string | undefined {
    return this.#tables.meta.get(key);
  }

  metaEntries(): [string, string][] {
    return [...this.#tables.meta.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  setMeta(key: string, value: string): void {
    if (this.#tables.meta.get(key) === value) return;
    this.#put(keys.meta(key), value);
  }

  // Services

  listServices(): StoredService[] {
    return this.#tables.listServices();
  }

  getService(name: string): StoredService | undefined {
    return this.#tables.services.get(name);
  }

  #writeService(name: string, service: StoredService): StoredService {
    this.#put(keys.service(name), encode.service(service), service);
    return service;
  }

  putService(
    given: ServiceSpec,
    now: number,
  ): { service: StoredService; created: boolean; changed: boolean } {
    const spec = canonicalSpec(given);
    return this.transaction(() => {
      const existing = this.getService(spec.name);
      const unchanged = unchangedService(existing, spec);
      if (unchanged) return { service: unchanged, created: false, changed: false };
      const revision = this.#nextRevision(spec.name);
      const rollout = rolloutTo(existing, revision, now);
      const service = this.#writeService(spec.name, {
        spec,
        revision,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        rollout,
      });
      this.#put(keys.revision(spec.name, revision), encode.revision({ spec, createdAt: now }));
      this.pruneRevisions(spec.name, REVISION_HISTORY);
      return { service, created: !existing, changed: true };
    });
  }

  setReplicas(name: string, replicas: number, now: number): StoredService | undefined {
    const existing = this.getService(name);
    if (!existing) return undefined;
    return this.#writeService(name, { ...existing, spec: { ...existing.spec, replicas }, updatedAt: now });
  }

  revertService(name: string, revision: number, rollout: Rollout, now: number): StoredService | undefined {
    const existing = this.getService(name);
    const spec = this.getRevision(name, revision);
    if (!existing || !spec) return undefined;
    return this.#writeService(name, {
      ...existing,
      spec: { ...spec, replicas: existing.spec.replicas },
      revision,
      updatedAt: now,
      rollout,
    });
  }

  setRollout(name: string, rollout: Rollout): void {
    const existing = this.getService(name);
    if (existing) this.#writeService(name, { ...existing, rollout });
  }

  listRevisions(name: string): StoredRevision[] {
    return [...(this.#tables.revisions.get(name)?.values() ?? [])].sort((a, b) => a.revision - b.revision);
  }

  getRevision(name: string, revision: number): ServiceSpec | undefined {
    return this.#tables.revisions.get(name)?.get(revision)?.spec;
  }

  deleteService(name: string): boolean {
    return this.transaction(() => {
      for (const revision of this.listRevisions(name)) this.#delete(keys.revision(name, revision.revision));
      if (!this.getService(name)) return false;
      this.#delete(keys.service(name));
      return true;
    });
  }

  pruneRevisions(name: string, keep: number): number {
    const service = this.getService(name);
    if (!service) return 0;
    const needed = new Set<number>([service.revision]);
    if (service.rollout?.from_revision != null) needed.add(service.rollout.from_revision);
    for (const task of this.#tables.tasks.values()) if (task.service === name) needed.add(task.revision);
    const old = this.listRevisions(name)
      .map((r) => r.revision)
      .sort((a, b) => b - a)
      .slice(keep)
      .filter((revision) => !needed.has(revision));
    for (const revision of old) this.#delete(keys.revision(name, revision));
    return old.length;
  }

  #nextRevision(name: string): number {
    let max = 0;
    for (const revision of this.#tables.revisions.get(name)?.keys() ?? []) max = Math.max(max, revision);
    return max + 1;
  }

  // Tasks

  listTasks(service?: string): StoredTask[] {
    return this.taskSnapshot()
      .filter((t) => service === undefined || t.service === service)
      .sort(
        (a, b) =>
          (a.service < b.service ? -1 : a.service > b.service ? 1 : 0) ||
          a.slot - b.slot ||
          a.createdAt - b.createdAt,
      );
  }

  taskSnapshot(): TaskRecord[] {
    return this.#tables.taskSnapshot();
  }

  tasksOnNode(nodeId: string): TaskRecord[] {
    return this.taskSnapshot().filter((t) => t.nodeId === nodeId);
  }

  #writeTask(record: TaskRecord): void {
    this.#put(keys.task(record.id), encode.task(record), record);
  }

  insertTask(task: Task): void {
    if (this.#tables.tasks.has(task.id)) throw new Error(`task ${task.id} exists`);
    this.#writeTask({
      id: task.id,
      service: task.service,
      slot: task.slot,
      revision: task.revision,
      nodeId: task.nodeId,
      desiredState: task.desiredState,
      pendingReason: task.pendingReason,
      createdAt: task.createdAt,
      observed: null,
    });
  }

  #updateTask(id: string, change: Partial<TaskRecord>): void {
    const task = this.#tables.tasks.get(id);
    if (task) this.#writeTask({ ...task, ...change });
  }

  placeTask(id: string, nodeId: string | null, pendingReason: string | null): void {
    this.#updateTask(id, { nodeId, pendingReason });
  }

  setDesiredState(id: string, state: DesiredState): void {
    this.#updateTask(id, { desiredState: state });
  }

  setObserved(id: string, observed: TaskObservation | null): void {
    const parsed = observed ? taskObservationSchema.safeParse(observed) : undefined;
    this.#updateTask(id, { observed: parsed?.success ? parsed.data : null });
  }

  deleteTask(id: string): void {
    this.#delete(keys.task(id));
  }

  // Allocations

  allocate(kind: AllocationKind, name: string, first: number, last: number): number {
    const existing = this.#tables.allocations.get(`${kind}\u0000${name}`);
    if (existing) return existing.index;
    for (let index = first; index <= last; index++) {
      if (this.#tables.allocationIndex.has(`${kind}\u0000${index}`)) continue;
      this.transaction(() => {
        this.#put(keys.alloc(kind, name), String(index));
        this.#put(keys.allocIndex(kind, index), name);
      });
      return index;
    }
    throw new AllocationExhaustedError(kind, last - first + 1);
  }

  listAllocations(): StoredAllocation[] {
    return this.#tables.listAllocations();
  }

  releaseAllocation(kind: AllocationKind, name: string): void {
    const existing = this.#tables.allocations.get(`${kind}\u0000${name}`);
    if (!existing) return;
    this.transaction(() => {
      this.#delete(keys.alloc(kind, name));
      if (this.#tables.allocationIndex.get(`${kind}\u0000${existing.index}`) === name)
        this.#delete(keys.allocIndex(kind, existing.index));
    });
  }

  // Nodes

  listNodes(): StoredNode[] {
    return this.#tables.listNodes();
  }

  #writeNode(node: StoredNode): void {
    this.#put(keys.node(node.id), encode.node(node));
  }

  upsertNode(id: string, registration: NodeRegistration, now: number): void {
    const existing = this.#tables.nodes.get(id);
    if (existing && JSON.stringify(existing.registration) === JSON.stringify(registration)) return;
    this.#writeNode(
      existing
        ? { ...existing, registration }
        : { id, registration, joinedAt: now, availability: 'active', labels: {} },
    );
  }

  setNodeAvailability(id: string, availability: NodeAvailability): void {
    const existing = this.#tables.nodes.get(id);
    if (existing) this.#writeNode({ ...existing, availability });
  }

  setNodeLabels(id: string, labels: Record<string, string>): void {
    const existing = this.#tables.nodes.get(id);
    if (existing) this.#writeNode({ ...existing, labels });
  }

  deleteNode(id: string): void {
    this.#delete(keys.node(id));
  }

  // Events

  appendEvent(given: EventInput, givenAt: number): void {
    const at = Number.isFinite(givenAt) ? Math.min(Math.max(Math.round(givenAt), 0), MAX_EPOCH_MS) : 0;
    const state = this.#batch();
    if (state.eventCount >= EVENT_ID_SPAN) {
      this.#log(
        `etcd store: more than ${EVENT_ID_SPAN} events in one transaction; dropped ${given.type} event`,
      );
      return;
    }
    const record = {
      i: state.eventCount++,
      at,
      type: given.type,
      service: given.service,
      container: given.container,
      node: given.node,
      message: truncateText(given.message, MAX_EVENT_MESSAGE_CHARS),
    };
    // Staged only: an event shows in listings, and reaches subscribers, once committed with its id.
    this.#mirror.stage(state.batch, keys.event(this.writerId, this.#eventSeq++), encode.event(record));
  }

  listEvents(query: EventQuery): SkiffEvent[] {
    return this.#tables.listEvents(query);
  }

  pruneEvents(keep: number): number {
    const old = this.#tables.eventKeysBeyond(keep);
    if (old.length === 0) return 0;
    const state = this.#batch();
    for (const key of old) if (!state.batch.writes.has(key)) this.#mirror.stage(state.batch, key, null);
    return old.length;
  }

  /** Every key and value under the prefix at one revision (for `skiff snapshot save`). */
  async exportAll(): Promise<{
    revision: number;
    entries: { key: string; value: string; create: number }[];
  }> {
    const { revision, kvs } = await this.#rangeAll();
    return {
      revision,
      entries: kvs.map((kv) => ({
        key: kv.key.toString().slice(this.#root.length),
        value: kv.value.toString(),
        create: Number(kv.create_revision),
      })),
    };
  }

  /** The watch has seen `revision` (tests, and a restore waiting for its own writes). */
  async watchedUpTo(revision: number, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#watchedRevision < revision && Date.now() < deadline) await sleep(20);
    return this.#watchedRevision >= revision;
  }
}

export const NO_SPACE_ADVICE =
  "etcd's space quota is exhausted (NOSPACE alarm): writes are refused until an operator frees space: " +
  'compact its history (Skiff does every 5 minutes), run `etcdctl defrag` on each member, then ' +
  '`etcdctl alarm disarm` (and raise --quota-backend-bytes if the data has outgrown it)';

function guardCompares(guard: WriteGuard | null) {
  if (!guard) return [];
  const key = Buffer.from(guard.key);
  const compares: {
    key: Buffer;
    target: 'Value' | 'Lease' | 'Create';
    result: 'Equal' | 'Greater';
    value?: Buffer;
    lease?: string;
    create_revision?: string;
  }[] = [];
  if (guard.value !== undefined)
    compares.push({ key, target: 'Value', result: 'Equal', value: Buffer.from(guard.value) });
  if (guard.leaseId !== undefined)
    compares.push({ key, target: 'Lease', result: 'Equal', lease: guard.leaseId });
  if (guard.createRevision !== undefined)
    compares.push({ key, target: 'Create', result: 'Equal', create_revision: guard.createRevision });
  // A guard of a key alone: it must exist.
  if (compares.length === 0)
    return [{ key, target: 'Create' as const, result: 'Greater' as const, create_revision: '0' }];
  return compares;
}

/** Why the guard does not hold for the key as it is now, or undefined if it does. */
function guardFailure(guard: WriteGuard, held: IKeyValue | undefined): string | undefined {
  if (!held) return 'the leadership key is gone (its lease expired or was revoked)';
  if (guard.value !== undefined && held.value.toString() !== guard.value)
    return `the leadership key now names ${held.value.toString().slice(0, 80)}`;
  if (guard.leaseId !== undefined && held.lease !== guard.leaseId)
    return `the leadership key is held under another lease (${held.lease})`;
  if (guard.createRevision !== undefined && held.create_revision !== guard.createRevision)
    return `the leadership key was created again (revision ${held.create_revision})`;
  return undefined;
}

/** The end of the range of keys starting with prefix. */
export function rangeEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i] ?? 0;
    if (byte < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = byte + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}

/** An event record with its place in the transaction set to `place`. */
function renumberEvent(text: string, place: number): string {
  const parsed = eventRecord.safeParse(parseJson(text));
  return parsed.success ? encode.event({ ...parsed.data, i: place }) : text;
}

/** etcd refused a transaction for its size (--max-txn-ops, --max-request-bytes). */
class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
