/**
 * The SQLite store (the port is store.ts): desired state (services, their revisions, tasks and
 * their placement), known nodes and a bounded event log, in one SQLite file (WAL). Fast-changing
 * status (heartbeats, connections) stays in memory with the server; only observed task state
 * changes are written. One process owns the file, so there is no other writer to hear from and
 * every write is durable when its call returns.
 */
import type { StatementSync } from 'node:sqlite';
import { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import { isoTimeOrNull, MAX_EPOCH_MS, MAX_EVENT_MESSAGE_CHARS, truncateText } from '../model/bounds.ts';
import type { EventInput, SkiffEvent } from '../model/event.ts';
import { eventTypeSchema } from '../model/event.ts';
import { looseCopy } from '../model/loose.ts';
import type { NodeAvailability, NodeRegistration } from '../model/node.ts';
import { nodeAvailabilitySchema, nodeLabelsSchema, nodeRegistrationSchema } from '../model/node.ts';
import type { Rollout } from '../model/rollout.ts';
import { rolloutSchema } from '../model/rollout.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import { canonicalSpec, serviceSpecSchema } from '../model/service-spec.ts';
import type { DesiredState, Task, TaskObservation, TaskRecord } from '../model/task.ts';
import { desiredStateSchema, taskObservationSchema } from '../model/task.ts';
import { AllocationExhaustedError } from './errors.ts';
import { MIGRATIONS } from './migrations.ts';
import { rolloutTo, unchangedService } from './service-put.ts';
import type {
  EventQuery,
  Store,
  StoredNode,
  StoredRevision,
  StoredService,
  StoredTask,
  StoreHealth,
  WriteGuard,
} from './store.ts';
import { REVISION_HISTORY } from './store.ts';
import type { WriteOwner } from './write-owner.ts';

const serviceRow = z.object({
  spec: z.string(),
  revision: z.number(),
  created_at: z.number(),
  updated_at: z.number(),
  rollout: z.string().nullable(),
});
const SERVICE_COLUMNS = 'spec, revision, created_at, updated_at, rollout';
const taskRow = z.object({
  id: z.string(),
  service: z.string(),
  slot: z.number(),
  revision: z.number(),
  node_id: z.string().nullable(),
  desired_state: desiredStateSchema,
  pending_reason: z.string().nullable(),
  observed: z.string().nullable(),
  created_at: z.number(),
});
const nodeRow = z.object({
  id: z.string(),
  registration: z.string(),
  joined_at: z.number(),
  availability: nodeAvailabilitySchema,
  labels: z.string(),
});
const eventRow = z.object({
  id: z.number(),
  at: z.number(),
  type: eventTypeSchema,
  service: z.string().nullable(),
  container: z.string().nullable(),
  node: z.string().nullable(),
  message: z.string(),
});

/** Stored specs are read loosely: one written by a newer server, or under older limits, stays readable. */
const storedSpecSchema = looseCopy(serviceSpecSchema, { checks: false });

const allocationRow = z.object({ kind: z.enum(['network', 'service']), name: z.string(), idx: z.number() });

/** Nodes too: a registration accepted before its fields were bounded must not stop a restart. */
const storedRegistrationSchema = looseCopy(nodeRegistrationSchema, { checks: false });
const storedLabelsSchema = looseCopy(nodeLabelsSchema, { checks: false });

/** Events kept in memory for listings (the event log keeps 10,000 by default). */
const EVENT_TAIL = 10_000;

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #path: string;
  readonly #eventListeners = new Set<(event: SkiffEvent) => void>();
  readonly #db: DatabaseSync;
  /**
   * Prepared statements by their SQL, made once: preparing one per call cost 4× the statement's
   * run (every agent report's writes, every event), and each left a native statement for the GC
   * to finalise, which it does late (V8 sees only the small wrapper).
   */
  readonly #statements = new Map<string, StatementSync>();
  /**
   * The task table, parsed, in memory: every pass and every report reads it, and at 10,000 rows
   * a read from SQLite (query, JSON, schema) costs hundreds of milliseconds. The store is the
   * table's only writer, so each write updates this copy in the same call; records are replaced,
   * never mutated, so an array handed out stays a consistent snapshot. Loaded on first use and
   * dropped when a transaction rolls back (the next read loads it again).
   */
  #tasks: Map<string, TaskRecord> | undefined;
  /** Which tasks each node holds, built with the first `tasksOnNode` and kept with `#tasks`. */
  #tasksByNode: Map<string, Set<string>> | undefined;
  #placementVersion = 0;
  /** The services table, parsed: read by every pass and most requests, dropped on every write. */
  #services: Map<string, StoredService> | undefined;
  /**
   * The newest events, oldest first: every event with an id from the first one's on, so a
   * listing within them is answered without SQLite (readers of /api/events must not take the
   * time writers need). `complete` when they are the whole table.
   */
  #eventTail:
    | { entries: { readonly at: number; readonly event: SkiffEvent }[]; complete: boolean }
    | undefined;

  constructor(path: string) {
    this.#path = path;
    this.#db = new DatabaseSync(path);
    // WAL lets readers proceed during writes; NORMAL sync is durable across process crashes
    // (kill -9), which is the failure we guard against; busy_timeout rides out checkpoints.
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.#migrate();
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }

  writeMark(): number {
    return 0;
  }

  /** The file is written before each call returns. */
  durable(_since?: number | WriteOwner): Promise<void> {
    return Promise.resolve();
  }

  /** One process owns the file: no other writer to hear from. */
  onChange(_listener: () => void): () => void {
    return () => {};
  }

  /** One server, nothing to guard against. */
  setWriteGuard(_guard: WriteGuard | null): void {}

  health(): StoreHealth {
    return { kind: 'sqlite', writable: true, problem: null, revision: 0, location: this.#path };
  }

  subscribeEvents(listener: (event: SkiffEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /**
   * A consistent copy of the whole database in one file (VACUUM INTO: an online backup, readers
   * and the writer carry on), for `skiff snapshot save`.
   */
  backupTo(file: string): void {
    this.#statement('VACUUM INTO ?').run(file);
  }

  #migrate(): void {
    this.#db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
    const row = this.#statement('SELECT MAX(version) AS v FROM schema_migrations').get();
    const current = z.object({ v: z.number().nullable() }).parse(row).v ?? 0;
    MIGRATIONS.forEach((sql, index) => {
      const version = index + 1;
      if (version <= current) return;
      this.transaction(() => {
        this.#db.exec(sql);
        this.#statement('INSERT INTO schema_migrations (version) VALUES (?)').run(version);
      });
    });
  }

  /** Runs fn atomically; nested calls join the outer transaction. */
  transaction<T>(fn: () => T): T {
    if (this.#db.isTransaction) return fn();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      this.#placementVersion++;
      this.#tasks = undefined;
      this.#tasksByNode = undefined;
      this.#services = undefined;
      this.#eventTail = undefined;
      throw error;
    }
  }

  getMeta(key: string): string | undefined {
    const row = this.#statement('SELECT value FROM meta WHERE key = ?').get(key);
    return row ? z.object({ value: z.string() }).parse(row).value : undefined;
  }

  metaEntries(): [string, string][] {
    return this.#statement('SELECT key, value FROM meta ORDER BY key')
      .all()
      .map((row) => {
        const parsed = z.object({ key: z.string(), value: z.string() }).parse(row);
        return [parsed.key, parsed.value];
      });
  }

  setMeta(key: string, value: string): void {
    this.#statement(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?',
    ).run(key, value, value);
  }

  // Services

  /** Services ordered by name. */
  listServices(): StoredService[] {
    return [...this.#serviceTable().values()];
  }

  getService(name: string): StoredService | undefined {
    return this.#serviceTable().get(name);
  }

  #serviceTable(): Map<string, StoredService> {
    if (this.#services) return this.#services;
    const services = new Map<string, StoredService>();
    for (const row of this.#statement(`SELECT name, ${SERVICE_COLUMNS} FROM services ORDER BY name`).all()) {
      const name = z.object({ name: z.string() }).parse(row).name;
      services.set(name, toService(serviceRow.parse(row)));
    }
    this.#services = services;
    return services;
  }

  /**
   * One service's row changed: that row alone is read again (parsing every service's spec again
   * at each deploy cost a fill of 200 services seconds), and only its record is a new object, so
   * a pass's per-service memory (compared by identity) recomputes only that service.
   */
  #serviceChanged(name: string): void {
    const services = this.#services;
    if (!services) return;
    const row = this.#statement(`SELECT name, ${SERVICE_COLUMNS} FROM services WHERE name = ?`).get(name);
    if (!row) {
      services.delete(name);
      return;
    }
    const known = services.has(name);
    services.set(name, toService(serviceRow.parse(row)));
    // Kept in name order (listServices' order): a new name is sorted in.
    if (!known) this.#services = new Map([...services].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Stores a spec; a spec that differs from the current one gets the next revision. */
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
      const text = JSON.stringify(spec);
      const rollout = rolloutTo(existing, revision, now);
      this.#statement(
        `INSERT INTO services (name, spec, revision, created_at, updated_at, rollout) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET spec = excluded.spec, revision = excluded.revision,
             updated_at = excluded.updated_at, rollout = excluded.rollout`,
      ).run(spec.name, text, revision, now, now, JSON.stringify(rollout));
      this.#serviceChanged(spec.name);
      this.#statement(
        'INSERT INTO service_revisions (name, revision, spec, created_at) VALUES (?, ?, ?, ?)',
      ).run(spec.name, revision, text, now);
      this.pruneRevisions(spec.name, REVISION_HISTORY);
      const service = this.getService(spec.name);
      if (!service) throw new Error(`service ${spec.name} vanished inside its own transaction`);
      return { service, created: !existing, changed: true };
    });
  }

  /** Changes only the replica count: scaling is not a new revision (nothing to roll out). */
  setReplicas(name: string, replicas: number, now: number): StoredService | undefined {
    const existing = this.getService(name);
    if (!existing) return undefined;
    const spec = { ...existing.spec, replicas };
    this.#statement('UPDATE services SET spec = ?, updated_at = ? WHERE name = ?').run(
      JSON.stringify(spec),
      now,
      name,
    );
    this.#serviceChanged(name);
    return this.getService(name);
  }

  /**
   * Returns a service to an earlier revision: its spec (keeping today's replica count) and its
   * revision number, so replicas still running that revision are current again and kept.
   */
  revertService(name: string, revision: number, rollout: Rollout, now: number): StoredService | undefined {
    const existing = this.getService(name);
    const spec = this.getRevision(name, revision);
    if (!existing || !spec) return undefined;
    this.#statement(
      'UPDATE services SET spec = ?, revision = ?, updated_at = ?, rollout = ? WHERE name = ?',
    ).run(
      JSON.stringify({ ...spec, replicas: existing.spec.replicas }),
      revision,
      now,
      JSON.stringify(rollout),
      name,
    );
    this.#serviceChanged(name);
    return this.getService(name);
  }

  setRollout(name: string, rollout: Rollout): void {
    this.#statement('UPDATE services SET rollout = ? WHERE name = ?').run(JSON.stringify(rollout), name);
    this.#serviceChanged(name);
  }

  listRevisions(name: string): StoredRevision[] {
    return this.#statement(
      'SELECT revision, spec, created_at FROM service_revisions WHERE name = ? ORDER BY revision',
    )
      .all(name)
      .map((row) => {
        const parsed = z
          .object({ revision: z.number(), spec: z.string(), created_at: z.number() })
          .parse(row);
        return {
          revision: parsed.revision,
          spec: storedSpecSchema.parse(JSON.parse(parsed.spec)),
          createdAt: parsed.created_at,
        };
      });
  }

  /** The spec a past (or the current) revision was deployed with. */
  getRevision(name: string, revision: number): ServiceSpec | undefined {
    const row = this.#statement('SELECT spec FROM service_revisions WHERE name = ? AND revision = ?').get(
      name,
      revision,
    );
    return row
      ? storedSpecSchema.parse(JSON.parse(z.object({ spec: z.string() }).parse(row).spec))
      : undefined;
  }

  /**
   * Deletes the service and its history: a service created later under the same name starts at
   * revision 1 and cannot roll back to its namesake's specs.
   */
  deleteService(name: string): boolean {
    return this.transaction(() => {
      this.#statement('DELETE FROM service_revisions WHERE name = ?').run(name);
      const deleted = this.#statement('DELETE FROM services WHERE name = ?').run(name).changes > 0;
      this.#serviceChanged(name);
      return deleted;
    });
  }

  /**
   * Keeps the newest `keep` revisions of a service, and any older one still needed: the current
   * one, the one its rollout started from (the rollback target), and any a task still runs.
   */
  pruneRevisions(name: string, keep: number): number {
    const service = this.getService(name);
    if (!service) return 0;
    const needed = new Set<number>([service.revision]);
    if (service.rollout?.from_revision != null) needed.add(service.rollout.from_revision);
    for (const row of this.#statement('SELECT DISTINCT revision FROM tasks WHERE service = ?').all(name)) {
      needed.add(z.object({ revision: z.number() }).parse(row).revision);
    }
    const old = this.#statement(
      'SELECT revision FROM service_revisions WHERE name = ? ORDER BY revision DESC LIMIT -1 OFFSET ?',
    )
      .all(name, keep)
      .map((row) => z.object({ revision: z.number() }).parse(row).revision)
      .filter((revision) => !needed.has(revision));
    const remove = this.#statement('DELETE FROM service_revisions WHERE name = ? AND revision = ?');
    for (const revision of old) remove.run(name, revision);
    return old.length;
  }

  #nextRevision(name: string): number {
    const row = this.#statement('SELECT MAX(revision) AS r FROM service_revisions WHERE name = ?').get(name);
    return (z.object({ r: z.number().nullable() }).parse(row).r ?? 0) + 1;
  }

  // Tasks

  /** Tasks ordered by service, slot and creation (one service's when named). */
  listTasks(service?: string): StoredTask[] {
    const tasks = this.taskSnapshot().filter((t) => service === undefined || t.service === service);
    return tasks.sort(
      (a, b) =>
        (a.service < b.service ? -1 : a.service > b.service ? 1 : 0) ||
        a.slot - b.slot ||
        a.createdAt - b.createdAt,
    );
  }

  get placementVersion(): number {
    return this.#placementVersion;
  }

  /** Every task, in no particular order: a consistent snapshot, cheap to take. */
  taskSnapshot(): TaskRecord[] {
    return [...this.#taskTable().values()];
  }

  /** The tasks placed on one node: from an index, as every agent report asks (not a scan of the table). */
  tasksOnNode(nodeId: string): TaskRecord[] {
    const table = this.#taskTable();
    const ids = this.#nodeIndex().get(nodeId);
    if (!ids) return [];
    const tasks: TaskRecord[] = [];
    for (const id of ids) {
      const task = table.get(id);
      if (task) tasks.push(task);
    }
    return tasks;
  }

  /** node → ids of the tasks placed there, kept with the table. */
  #nodeIndex(): Map<string, Set<string>> {
    if (this.#tasksByNode) return this.#tasksByNode;
    const index = new Map<string, Set<string>>();
    for (const task of this.#taskTable().values()) this.#index(index, task.id, task.nodeId);
    this.#tasksByNode = index;
    return index;
  }

  #index(index: Map<string, Set<string>>, id: string, nodeId: string | null): void {
    if (nodeId === null) return;
    const ids = index.get(nodeId);
    if (ids) ids.add(id);
    else index.set(nodeId, new Set([id]));
  }

  #unindex(id: string, nodeId: string | null): void {
    if (nodeId === null) return;
    const ids = this.#tasksByNode?.get(nodeId);
    ids?.delete(id);
    if (ids?.size === 0) this.#tasksByNode?.delete(nodeId);
  }

  #taskTable(): Map<string, TaskRecord> {
    if (this.#tasks) return this.#tasks;
    const rows = this.#statement('SELECT * FROM tasks').all();
    const tasks = new Map<string, TaskRecord>();
    for (const row of rows) {
      const task = toTask(taskRow.parse(row));
      tasks.set(task.id, task);
    }
    this.#tasks = tasks;
    return tasks;
  }

  /** Replaces a task's record in memory after its row was written. */
  #updateTask(id: string, change: Partial<TaskRecord>): void {
    const table = this.#taskTable();
    const task = table.get(id);
    if (!task) return;
    table.set(id, { ...task, ...change });
    if (change.nodeId !== undefined && change.nodeId !== task.nodeId && this.#tasksByNode) {
      this.#unindex(id, task.nodeId);
      this.#index(this.#tasksByNode, id, change.nodeId);
    }
  }

  insertTask(task: Task): void {
    const table = this.#taskTable();
    this.#statement(
      `INSERT INTO tasks (id, service, slot, revision, node_id, desired_state, pending_reason, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      task.id,
      task.service,
      task.slot,
      task.revision,
      task.nodeId,
      task.desiredState,
      task.pendingReason,
      task.createdAt,
    );
    table.set(task.id, {
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
    if (this.#tasksByNode) this.#index(this.#tasksByNode, task.id, task.nodeId);
    this.#placementVersion++;
  }

  placeTask(id: string, nodeId: string | null, pendingReason: string | null): void {
    this.#statement('UPDATE tasks SET node_id = ?, pending_reason = ? WHERE id = ?').run(
      nodeId,
      pendingReason,
      id,
    );
    this.#updateTask(id, { nodeId, pendingReason });
    this.#placementVersion++;
  }

  setDesiredState(id: string, state: DesiredState): void {
    this.#statement('UPDATE tasks SET desired_state = ? WHERE id = ?').run(state, id);
    this.#updateTask(id, { desiredState: state });
    this.#placementVersion++;
  }

  setObserved(id: string, observed: TaskObservation | null): void {
    this.#statement('UPDATE tasks SET observed = ? WHERE id = ?').run(
      observed ? JSON.stringify(observed) : null,
      id,
    );
    // What a read of the row would give: an observation out of bounds is forgotten.
    const parsed = observed ? taskObservationSchema.safeParse(observed) : undefined;
    // The record's own id string in place of the report's copy of it: 10,000 replicas' copies
    // were 0.5 MB of the server's heap (bench:heap-summary).
    const task = this.#tasks?.get(id);
    if (parsed?.success && task && parsed.data.task_id === task.id) parsed.data.task_id = task.id;
    this.#updateTask(id, { observed: parsed?.success ? parsed.data : null });
  }

  deleteTask(id: string): void {
    this.#statement('DELETE FROM tasks WHERE id = ?').run(id);
    const task = this.#tasks?.get(id);
    if (task) this.#unindex(id, task.nodeId);
    this.#tasks?.delete(id);
    this.#placementVersion++;
  }

  // Allocations

  /** The index of `name` among `kind`, allocating the lowest free one in [first, last] if new. */
  allocate(kind: 'network' | 'service', name: string, first: number, last: number): number {
    return this.transaction(() => {
      const existing = this.#statement('SELECT idx FROM allocations WHERE kind = ? AND name = ?').get(
        kind,
        name,
      );
      if (existing) return z.object({ idx: z.number() }).parse(existing).idx;
      // The lowest free index: `first`, or one past a taken one, that is not itself taken. The
      // (kind, idx) index answers this without reading every row (thousands of them, per deploy).
      const free = this.#statement(
        `SELECT MIN(candidate) AS idx FROM (
             SELECT ? AS candidate UNION ALL SELECT idx + 1 FROM allocations WHERE kind = ?
           ) WHERE candidate BETWEEN ? AND ?
             AND NOT EXISTS (SELECT 1 FROM allocations WHERE kind = ? AND idx = candidate)`,
      ).get(first, kind, first, last, kind);
      const idx = z.object({ idx: z.number().nullable() }).parse(free).idx;
      if (idx !== null) {
        this.#statement('INSERT INTO allocations (kind, name, idx) VALUES (?, ?, ?)').run(kind, name, idx);
        return idx;
      }
      throw new AllocationExhaustedError(kind, last - first + 1);
    });
  }

  listAllocations(): { kind: 'network' | 'service'; name: string; index: number }[] {
    return this.#statement('SELECT kind, name, idx FROM allocations ORDER BY kind, idx')
      .all()
      .map((row) => {
        const parsed = allocationRow.parse(row);
        return { kind: parsed.kind, name: parsed.name, index: parsed.idx };
      });
  }

  /** Returns an index to the pool (see server/address-release.ts for when that is safe). */
  releaseAllocation(kind: 'network' | 'service', name: string): void {
    this.#statement('DELETE FROM allocations WHERE kind = ? AND name = ?').run(kind, name);
  }

  // Nodes

  listNodes(): StoredNode[] {
    return this.#statement('SELECT id, registration, joined_at, availability, labels FROM nodes ORDER BY id')
      .all()
      .map((row) => {
        const parsed = nodeRow.parse(row);
        return {
          id: parsed.id,
          registration: storedRegistrationSchema.parse(JSON.parse(parsed.registration)),
          joinedAt: parsed.joined_at,
          availability: parsed.availability,
          labels: storedLabelsSchema.parse(JSON.parse(parsed.labels)),
        };
      });
  }

  setNodeAvailability(id: string, availability: NodeAvailability): void {
    this.#statement('UPDATE nodes SET availability = ? WHERE id = ?').run(availability, id);
  }

  setNodeLabels(id: string, labels: Record<string, string>): void {
    this.#statement('UPDATE nodes SET labels = ? WHERE id = ?').run(JSON.stringify(labels), id);
  }

  deleteNode(id: string): void {
    this.#statement('DELETE FROM nodes WHERE id = ?').run(id);
  }

  /** Records a node's registration; the first registration fixes its join time. */
  upsertNode(id: string, registration: NodeRegistration, now: number): void {
    this.#statement(
      `INSERT INTO nodes (id, registration, joined_at) VALUES (?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET registration = excluded.registration`,
    ).run(id, JSON.stringify(registration), now);
  }

  // Events

  /**
   * The message is cut to a bound and the time kept to what Date can show, whoever the caller:
   * an event log that throws on one bad event would take the server down with it.
   */
  appendEvent(given: EventInput, givenAt: number): SkiffEvent {
    const at = Number.isFinite(givenAt) ? Math.min(Math.max(Math.round(givenAt), 0), MAX_EPOCH_MS) : 0;
    const event = { ...given, message: truncateText(given.message, MAX_EVENT_MESSAGE_CHARS) };
    const result = this.#statement(
      'INSERT INTO events (at, type, service, container, node, message) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(at, event.type, event.service, event.container, event.node, event.message);
    const stored = { ...event, id: Number(result.lastInsertRowid), timestamp: eventTime(at) };
    const tail = this.#eventTail;
    if (tail) {
      tail.entries.push({ at, event: stored });
      // Trimmed in batches: a shift per append would copy the whole tail every time.
      if (tail.entries.length > EVENT_TAIL + EVENT_TAIL / 10) {
        tail.entries.splice(0, tail.entries.length - EVENT_TAIL);
        tail.complete = false;
      }
    }
    for (const listener of this.#eventListeners) listener(stored);
    return stored;
  }

  listEvents(query: EventQuery): SkiffEvent[] {
    return this.#eventsFromTail(query) ?? this.#eventsFromTable(query);
  }

  /** The answer from the newest events in memory, or undefined when they may not hold all of it. */
  #eventsFromTail(query: EventQuery): SkiffEvent[] | undefined {
    if (!this.#eventTail) {
      const rows = this.#statement(
        'SELECT * FROM (SELECT * FROM events ORDER BY id DESC LIMIT ?) ORDER BY id',
      ).all(EVENT_TAIL);
      this.#eventTail = {
        entries: rows.map((row) => {
          const e = eventRow.parse(row);
          return { at: e.at, event: toEvent(e) };
        }),
        complete: rows.length < EVENT_TAIL,
      };
    }
    const { entries, complete } = this.#eventTail;
    const { afterId, sinceMs, service, limit } = query;
    const matches = (entry: { readonly at: number; readonly event: SkiffEvent }) =>
      (sinceMs === undefined || entry.at >= sinceMs) &&
      (service === undefined || entry.event.service === service);
    const found: SkiffEvent[] = [];
    if (afterId !== undefined) {
      const firstId = entries[0]?.event.id;
      if (!complete && (firstId === undefined || afterId < firstId - 1)) return undefined;
      let i = 0;
      let hi = entries.length;
      while (i < hi) {
        const mid = (i + hi) >> 1;
        if ((entries[mid]?.event.id ?? 0) <= afterId) i = mid + 1;
        else hi = mid;
      }
      for (; i < entries.length && found.length < limit; i++) {
        const entry = entries[i];
        if (entry && matches(entry)) found.push(entry.event);
      }
      return found;
    }
    for (let i = entries.length - 1; i >= 0 && found.length < limit; i--) {
      const entry = entries[i];
      if (entry && matches(entry)) found.push(entry.event);
    }
    if (found.length < limit && !complete) return undefined;
    return found.reverse();
  }

  #eventsFromTable(query: EventQuery): SkiffEvent[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.afterId !== undefined) {
      where.push('id > ?');
      params.push(query.afterId);
    }
    if (query.sinceMs !== undefined) {
      where.push('at >= ?');
      params.push(query.sinceMs);
    }
    if (query.service !== undefined) {
      where.push('service = ?');
      params.push(query.service);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    // After an id: the oldest `limit` events after it (a page, or catching up); otherwise the
    // newest `limit`. Returned oldest first either way.
    const rows = this.#statement(
      query.afterId !== undefined
        ? `SELECT * FROM events ${clause} ORDER BY id LIMIT ?`
        : `SELECT * FROM (SELECT * FROM events ${clause} ORDER BY id DESC LIMIT ?) ORDER BY id`,
    ).all(...params, query.limit);
    return rows.map((row) => toEvent(eventRow.parse(row)));
  }

  /** Keeps the newest `keep` events. */
  pruneEvents(keep: number): number {
    const removed = Number(
      this.#statement(
        'DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)',
      ).run(keep).changes,
    );
    const tail = this.#eventTail;
    if (tail && tail.entries.length >= keep) {
      tail.entries.splice(0, tail.entries.length - keep);
      tail.complete = true;
    }
    return removed;
  }
}

function toEvent(e: z.infer<typeof eventRow>): SkiffEvent {
  return {
    id: e.id,
    timestamp: eventTime(e.at),
    type: e.type,
    service: e.service,
    container: e.container,
    node: e.node,
    message: e.message,
  };
}

/** Rows written before times were bounded may hold any number; they show as the epoch. */
function eventTime(at: number): string {
  return isoTimeOrNull(at) ?? new Date(0).toISOString();
}

function toService(row: z.infer<typeof serviceRow>): StoredService {
  return {
    spec: storedSpecSchema.parse(JSON.parse(row.spec)),
    revision: row.revision,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    rollout: row.rollout === null ? null : rolloutSchema.parse(JSON.parse(row.rollout)),
  };
}

function toTask(row: z.infer<typeof taskRow>): StoredTask {
  return {
    id: row.id,
    service: row.service,
    slot: row.slot,
    revision: row.revision,
    nodeId: row.node_id,
    desiredState: row.desired_state,
    pendingReason: row.pending_reason,
    createdAt: row.created_at,
    observed: row.observed ? storedObservation(row.observed) : null,
  };
}

/**
 * An observation is the agent's word, re-sent on every report: one stored before its bounds were
 * checked (or otherwise unreadable) is forgotten rather than failing every read of the tasks.
 */
function storedObservation(text: string): TaskObservation | null {
  try {
    const parsed = taskObservationSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
