/**
 * The store port: what the server, the controller, the API and the tests use of the cluster's
 * state (desired state: services, their revisions, tasks and their placement, address
 * allocations; known nodes; meta entries such as tokens, policy, sealed secrets and the cluster
 * CA; a bounded event log). Two implementations: `SqliteStore` (sqlite-store.ts, one file, the
 * default) and `EtcdStore` (etcd/etcd-store.ts, a cluster of servers on one etcd).
 *
 * Reads are synchronous and served from memory, so a controller pass takes one consistent
 * snapshot without a round trip. Writes are synchronous on that memory (a reader sees its own
 * writes at once) and made durable by the implementation: SQLite before the call returns, etcd
 * by one transaction per `transaction()` (group-committed) whose outcome `durable()` reports.
 * A write that fails durably is undone in memory as well, and `durable()` rejects with one of
 * the errors in errors.ts. See README.md for the contract in full.
 */
import type { EventInput, SkiffEvent } from '../model/event.ts';
import type { NodeAvailability, NodeRegistration } from '../model/node.ts';
import type { Rollout } from '../model/rollout.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { DesiredState, Task, TaskObservation, TaskRecord } from '../model/task.ts';

import type { WriteOwner } from './write-owner.ts';

export { AllocationExhaustedError } from './errors.ts';

export interface StoredService {
  readonly spec: ServiceSpec;
  readonly revision: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly rollout: Rollout | null;
}

export interface StoredRevision {
  readonly revision: number;
  readonly spec: ServiceSpec;
  readonly createdAt: number;
}

/** The task record under the name the store's callers have long used (see model/task.ts). */
export type StoredTask = TaskRecord;

export interface StoredNode {
  readonly id: string;
  readonly registration: NodeRegistration;
  readonly joinedAt: number;
  readonly availability: NodeAvailability;
  /** Labels set by operators through the API; they win over the agent's own. */
  readonly labels: Record<string, string>;
}

export interface EventQuery {
  readonly afterId?: number;
  readonly sinceMs?: number;
  readonly service?: string;
  readonly limit: number;
}

export type AllocationKind = 'network' | 'service';

export interface StoredAllocation {
  readonly kind: AllocationKind;
  readonly name: string;
  readonly index: number;
}

/** Revisions kept per service (as Kubernetes' revisionHistoryLimit), besides those still needed. */
export const REVISION_HISTORY = 10;

/**
 * A condition every write transaction must meet, checked by the store itself in the same
 * transaction (etcd: one `Compare` per given field on `key`, a full etcd key, not under the
 * store's prefix). When it fails the write is refused with `NotLeaderError` and undone. The HA
 * leader sets it to its election key, so a paused or partitioned ex-leader can never write.
 */
export interface WriteGuard {
  /** The full etcd key (the election key). */
  readonly key: string;
  /** The key's value must be exactly this (e.g. the server's id). */
  readonly value?: string;
  /** The key must be attached to this lease (decimal string, as etcd3's `Lease.grant()` gives). */
  readonly leaseId?: string;
  /** The key's create revision must be this (decimal string): the key was not re-created since. */
  readonly createRevision?: string;
}

export interface StoreHealth {
  readonly kind: 'sqlite' | 'etcd';
  /** Writes are being accepted (the last one committed, or none failed for want of etcd). */
  readonly writable: boolean;
  /** What is wrong, when something is (no quorum, NOSPACE alarm, …), in an operator's words. */
  readonly problem: string | null;
  /** etcd: the revision the mirror has seen; SQLite: 0. */
  readonly revision: number;
  /** etcd: the endpoints; SQLite: the file. */
  readonly location: string;
}

export interface Store {
  readonly kind: 'sqlite' | 'etcd';

  /** Stops watching and closes connections; pending writes are awaited first (etcd). */
  close(): Promise<void>;

  /**
   * Runs fn atomically: its writes are visible at once to this process, committed together
   * (SQLite: one SQL transaction; etcd: one etcd transaction), and all undone if fn throws or the
   * commit fails. Nested calls join the outer transaction. fn must be synchronous.
   */
  transaction<T>(fn: () => T): T;

  /** A mark of the writes made so far, for `durable(since)`. */
  writeMark(): number;

  /**
   * Resolves once every write made after `since` (a `writeMark()`), or made for `since` (an owner,
   * write-owner.ts: an API request's own writes), is committed; without it, what is pending;
   * rejects with the first failure among them (NotLeaderError, StoreUnavailableError,
   * StoreConflictError). SQLite: already resolved. The API takes a mark when a request starts and
   * awaits this before answering it, so a 2xx answer means its writes are durable.
   */
  durable(since?: number | WriteOwner): Promise<void>;

  /**
   * Called (at most once per turn of the event loop) when state changed by another writer was
   * seen, e.g. another server's API wrote a service: the leader's controller triggers a pass.
   * Never called for this process's own writes. Returns the unsubscribe.
   */
  onChange(listener: () => void): () => void;

  /** Guards every write transaction staged from now on (see WriteGuard); null removes it. */
  setWriteGuard(guard: WriteGuard | null): void;

  health(): StoreHealth;

  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Every meta entry, ordered by key (snapshots and migration copy them all). */
  metaEntries(): [string, string][];

  /** Services ordered by name. */
  listServices(): StoredService[];
  getService(name: string): StoredService | undefined;
  /** Stores a spec; a spec that differs from the current one gets the next revision. */
  putService(given: ServiceSpec, now: number): { service: StoredService; created: boolean; changed: boolean };
  /** Changes only the replica count: scaling is not a new revision (nothing to roll out). */
  setReplicas(name: string, replicas: number, now: number): StoredService | undefined;
  /** Returns a service to an earlier revision's spec (keeping today's replica count) and number. */
  revertService(name: string, revision: number, rollout: Rollout, now: number): StoredService | undefined;
  setRollout(name: string, rollout: Rollout): void;
  listRevisions(name: string): StoredRevision[];
  /** The spec a past (or the current) revision was deployed with. */
  getRevision(name: string, revision: number): ServiceSpec | undefined;
  /** Deletes the service and its history (a namesake created later starts at revision 1). */
  deleteService(name: string): boolean;
  /** Keeps the newest `keep` revisions, and any older one still needed (current, rollback, running). */
  pruneRevisions(name: string, keep: number): number;

  /** Tasks ordered by service, slot and creation (one service's when named). */
  listTasks(service?: string): StoredTask[];
  /** Every task, in no particular order: a consistent snapshot, cheap to take. */
  taskSnapshot(): TaskRecord[];
  /**
   * Grows with every write that changes where a task runs or whether it should (an insert, a
   * delete, a placement, a desired state), not with observed state; equal values mean the same
   * placements. Absent: the store does not count (every pass then compares the assignments).
   */
  readonly placementVersion?: number;
  tasksOnNode(nodeId: string): TaskRecord[];
  insertTask(task: Task): void;
  placeTask(id: string, nodeId: string | null, pendingReason: string | null): void;
  setDesiredState(id: string, state: DesiredState): void;
  setObserved(id: string, observed: TaskObservation | null): void;
  deleteTask(id: string): void;

  /** The index of `name` among `kind`, allocating the lowest free one in [first, last] if new. */
  allocate(kind: AllocationKind, name: string, first: number, last: number): number;
  /** Ordered by kind, then index. */
  listAllocations(): StoredAllocation[];
  releaseAllocation(kind: AllocationKind, name: string): void;

  /** Nodes ordered by id. */
  listNodes(): StoredNode[];
  /** Records a node's registration; the first registration fixes its join time. */
  upsertNode(id: string, registration: NodeRegistration, now: number): void;
  setNodeAvailability(id: string, availability: NodeAvailability): void;
  setNodeLabels(id: string, labels: Record<string, string>): void;
  deleteNode(id: string): void;

  /**
   * Appends an event (message cut to its bound, time kept to what Date shows). Its id is
   * assigned when it is committed: subscribers (`subscribeEvents`) get it with its id then,
   * whichever server wrote it (SQLite: at once).
   */
  appendEvent(given: EventInput, givenAt: number): void;
  /** Oldest first: after an id, the oldest `limit` after it; otherwise the newest `limit`. */
  listEvents(query: EventQuery): SkiffEvent[];
  /** Keeps the newest `keep` events. */
  pruneEvents(keep: number): number;
  /** Every committed event, in id order per writer, from whichever server wrote it. */
  subscribeEvents(listener: (event: SkiffEvent) => void): () => void;
}
