/**
 * The service reconciler and rollout planner: from a service's desired spec and its tasks, the
 * tasks to create, to shut down and to forget, and whether a rollout failed. Pure and
 * idempotent: run it on the same inputs twice and the second plan is empty once the first was
 * applied.
 *
 * Empty slots (a new service, a scale-up, a lost node) are filled at once. A slot whose replica
 * is outdated (an older revision, or on a draining node) is replaced start-first within the
 * update policy: at most `max_surge` replicas beyond the desired count, at most `max_unavailable`
 * fewer serving; the old replica stops only once its successor has been ready for
 * `min_healthy_time`. Services binding fixed host ports replace stop-first, one at a time: the
 * old replica holds the port; so do services with a single-writer volume (model/volume-spec.ts):
 * the old replica has it, except when drained: its successor cannot run on the draining node, so
 * the old one serves until the successor runs elsewhere (pinned to the volume, it waits for a
 * move). A successor that fails, or is not ready within `healthy_deadline`, fails the rollout;
 * the plan then names the revision to roll back to. While the caller holds replacements (a
 * rollout's pull phase under way or failed), outdated replicas are left alone.
 */
import { parseDurationMs } from '../model/duration.ts';
import { slotName } from '../model/names.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import { bindsHostPort } from '../model/service-spec.ts';
import type { Task, TaskRecord } from '../model/task.ts';
import { hasSingleWriterVolume } from '../model/volume-spec.ts';

/** The reconciler reads tasks as the store holds them (model/task.ts). */
export type ReconcilerTask = TaskRecord;

export interface DesiredService {
  readonly spec: ServiceSpec;
  readonly revision: number;
}

export interface RolloutFailure {
  readonly reason: string;
  /** The revision still running in the outdated replicas, when there is one and auto_rollback is on. */
  readonly rollbackTo: number | null;
}

export interface ServicePlan {
  readonly create: readonly Task[];
  readonly shutdown: readonly string[];
  /** Shut-down tasks whose container is gone (or never existed): their rows can go. */
  readonly forget: readonly string[];
  readonly failure: RolloutFailure | null;
  /** Every slot runs the desired revision, ready for its minimum time, and nothing else runs. */
  readonly complete: boolean;
}

export interface ReconcileInput {
  readonly service: string;
  readonly desired: DesiredService | undefined;
  readonly tasks: readonly ReconcilerTask[];
  /** Nodes being drained: their replicas are replaced elsewhere, start-first. */
  readonly drainingNodes: ReadonlySet<string>;
  /**
   * A global service's slots: one per node it should run on, each pinned there (global-slots.ts).
   * Absent for a replicated service, whose slots are 0 … replicas-1, placed by the scheduler.
   */
  readonly slotNodes?: ReadonlyMap<number, string>;
  /**
   * Replace no replica of an older revision (the rollout's pull phase has not finished, or failed:
   * see pre-pull.ts): empty slots are still filled, extras still stopped and a draining node's
   * current-revision replicas still replaced, but no successor of an older one is started and no
   * older one is stopped for one.
   */
  readonly holdReplacements?: boolean;
  readonly now: number;
  readonly newTaskId: () => string;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** A crash-looping successor fails the rollout after this many restarts, without waiting for the deadline. */
const FAILED_AFTER_RESTARTS = 3;

/** A replica that is running and, if the service checks health, passing. */
export function isServing(task: ReconcilerTask): boolean {
  const observed = task.observed;
  return observed?.state === 'running' && (observed.health === 'healthy' || observed.health === 'none');
}

/**
 * True when the service needs nothing from the reconciler, whatever the time: no rollout under
 * way, and exactly one replica of the current revision meant to run in each slot (a global
 * service's: on the slot's node), none on a draining node, nothing shutting down. Cheap (one
 * walk), so a pass can skip the steady majority of services; `reconcileService` would return an
 * empty plan for them.
 */
export function isSteady(input: Omit<ReconcileInput, 'now' | 'newTaskId'>): boolean {
  const { desired, tasks, slotNodes } = input;
  const replicas = slotNodes ? slotNodes.size : desired?.spec.replicas;
  if (!desired || tasks.length !== replicas) return false;
  const slots = new Set<number>();
  for (const t of tasks) {
    if (t.desiredState !== 'running' || t.revision !== desired.revision) return false;
    if (slots.has(t.slot)) return false;
    if (slotNodes ? slotNodes.get(t.slot) !== t.nodeId : t.slot >= replicas) return false;
    if (t.nodeId !== null && input.drainingNodes.has(t.nodeId)) return false;
    slots.add(t.slot);
  }
  return true;
}

export function reconcileService(input: ReconcileInput): ServicePlan {
  const { desired, tasks, now } = input;
  const forget = tasks
    .filter((t) => t.desiredState === 'shutdown' && (t.observed === null || t.nodeId === null))
    .map((t) => t.id);
  const live = tasks.filter((t) => t.desiredState === 'running');
  if (!desired)
    return { create: [], shutdown: live.map((t) => t.id), forget, failure: null, complete: false };

  const { spec, revision } = desired;
  const policy = spec.update;
  const minHealthyMs = parseDurationMs(policy.min_healthy_time) ?? 0;
  const deadlineMs = parseDurationMs(policy.healthy_deadline) ?? 60_000;
  // Stop-first too for a single-writer volume: two replicas must never write it at once. A drain
  // is the exception (below): the successor cannot run on the draining node, so never beside its
  // predecessor on the same volume.
  const portStopFirst = spec.ports.some(bindsHostPort);
  const volumeStopFirst = !portStopFirst && hasSingleWriterVolume(spec);
  const stopFirst = portStopFirst || volumeStopFirst;
  const maxSurge = stopFirst ? 0 : policy.max_surge;
  const maxUnavailable = stopFirst ? Math.max(1, policy.max_unavailable) : policy.max_unavailable;
  const slotList = input.slotNodes ? [...input.slotNodes.keys()].sort((a, b) => a - b) : range(spec.replicas);
  const wanted = new Set(slotList);
  const replicas = slotList.length;
  // A global slot belongs to one node: a task there on any other node is not the slot's.
  const inPlace = (t: ReconcilerTask) =>
    input.slotNodes === undefined || input.slotNodes.get(t.slot) === t.nodeId;

  const create: Task[] = [];
  const shutdown: string[] = [];
  const staying = (t: ReconcilerTask) => t.nodeId === null || !input.drainingNodes.has(t.nodeId);
  const settled = (t: ReconcilerTask) =>
    isServing(t) &&
    t.observed?.ready_since !== null &&
    now - (t.observed?.ready_since ?? now) >= minHealthyMs;
  const newTask = (slot: number): Task => ({
    id: input.newTaskId(),
    service: input.service,
    slot,
    revision,
    nodeId: input.slotNodes?.get(slot) ?? null,
    desiredState: 'running',
    pendingReason: null,
    createdAt: now,
  });

  shutdown.push(...live.filter((t) => !wanted.has(t.slot) || !inPlace(t)).map((t) => t.id));
  // Grouped once, in the tasks' order: a filter of every replica per slot was quadratic in the
  // replicas (95 slots of 95 replicas, 100 services, in a failover's pass at 1,000 nodes).
  const bySlot = new Map<number, ReconcilerTask[]>();
  for (const t of live) {
    if (!inPlace(t)) continue;
    const list = bySlot.get(t.slot);
    if (list) list.push(t);
    else bySlot.set(t.slot, [t]);
  }
  const slots = slotList.map((slot) => {
    const inSlot = bySlot.get(slot) ?? [];
    const [current, ...extras] = inSlot
      .filter((t) => t.revision === revision && staying(t))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    shutdown.push(...extras.map((t) => t.id));
    return { slot, current, outdated: inSlot.filter((t) => t !== current && !extras.includes(t)) };
  });

  let liveCount = slots.reduce((n, s) => n + (s.current ? 1 : 0) + s.outdated.length, 0);
  let servingCount = slots.reduce(
    (n, s) => n + (s.current && isServing(s.current) ? 1 : 0) + s.outdated.filter(isServing).length,
    0,
  );
  const maxLive = replicas + maxSurge;
  const minServing = replicas - maxUnavailable;

  for (const s of slots) {
    // Missing capacity is never held back by the surge budget.
    if (!s.current && s.outdated.length === 0) {
      create.push(newTask(s.slot));
      liveCount++;
    }
    // A successor that has proven itself relieves its predecessor; one never placed serves no one.
    const replaced = s.current !== undefined && settled(s.current);
    for (const old of s.outdated) {
      if (replaced || old.nodeId === null) {
        shutdown.push(old.id);
        liveCount--;
        if (isServing(old)) servingCount--;
      }
    }
  }
  for (const s of slots) {
    const waiting = s.outdated.filter((t) => !shutdown.includes(t.id));
    if (s.current) continue;
    // Held: an older revision waits for the image; a drain's replacement (same revision) goes on.
    if (input.holdReplacements && waiting.some((t) => t.revision !== revision)) continue;
    if (waiting.length === 0) {
      // Its outdated replicas never ran: the slot is simply empty now.
      if (s.outdated.length > 0) {
        create.push(newTask(s.slot));
        liveCount++;
      }
      continue;
    }
    // A drained replica with a single-writer volume serves on until its successor runs elsewhere
    // (which waits, pinned to the volume, until an operator moves it): start-first.
    const drained = waiting.every((t) => t.revision === revision);
    if (liveCount < maxLive || (volumeStopFirst && drained)) {
      create.push(newTask(s.slot));
      liveCount++;
      continue;
    }
    const servingHere = waiting.filter(isServing).length;
    if (maxUnavailable > 0 && servingCount - servingHere >= minServing) {
      // Stop-first within the unavailability budget.
      shutdown.push(...waiting.map((t) => t.id));
      servingCount -= servingHere;
      create.push(newTask(s.slot));
    }
  }

  const failure = rolloutFailure(slots, policy.auto_rollback, deadlineMs, now);
  // Complete once every slot's replica is proven and every outdated one has been told to stop
  // (in this plan or before): what remains of them is draining, not rolling out.
  const stopping = new Set(shutdown);
  const complete =
    create.length === 0 &&
    slots.every(
      (s) => s.current !== undefined && settled(s.current) && s.outdated.every((t) => stopping.has(t.id)),
    );
  return { create, shutdown, forget, failure, complete };
}

interface SlotState {
  readonly slot: number;
  readonly current: ReconcilerTask | undefined;
  readonly outdated: readonly ReconcilerTask[];
}

/** Only a replacement can fail a rollout: a slot with an outdated replica still waiting on its successor. */
function rolloutFailure(
  slots: readonly SlotState[],
  autoRollback: boolean,
  deadlineMs: number,
  now: number,
): RolloutFailure | null {
  for (const s of slots) {
    const successor = s.current;
    if (!successor || s.outdated.length === 0 || isServing(successor)) continue;
    const observed = successor.observed;
    const name = slotName(successor.service, successor.slot);
    let reason: string | null = null;
    if (observed?.state === 'failed') reason = `${name} failed: ${observed.message ?? 'unknown error'}`;
    else if ((observed?.restart_count ?? 0) >= FAILED_AFTER_RESTARTS) {
      reason = `${name} restarted ${observed?.restart_count} times (${observed?.message ?? 'crashing'})`;
    } else if (now - successor.createdAt > deadlineMs) {
      const why = observed?.message ?? successor.pendingReason ?? observed?.state ?? 'not started';
      reason = `${name} not ready within ${deadlineMs / 1000}s (${why})`;
    }
    if (reason === null) continue;
    const previous = Math.max(...s.outdated.map((t) => t.revision));
    return { reason, rollbackTo: autoRollback && previous !== successor.revision ? previous : null };
  }
  return null;
}
