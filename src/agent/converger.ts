/**
 * The agent's converger: from the desired tasks of this node, the containers the engine holds
 * (found by label) and what the agent remembers of each task, the actions that bring the engine
 * to the desired state. Pure: time, memory and the outcomes of finished operations come in,
 * actions and the updated memory go out. The memory has this one writer: the loop around it only
 * reports what its operations did.
 *
 * Each task has one current container. Only that container's exit or failed health check counts
 * against the task; its predecessors (a replaced container still stopping, a duplicate) are
 * removed and their deaths mean nothing, so a replacement that runs healthy is left alone.
 *
 * It never removes an unknown container before the server has told it what is desired (a cold
 * agent must not delete work), and one task never has two operations in flight. While its starts
 * are held (a restarted agent that has not heard from the server yet: restored-hold.ts) it creates,
 * starts and replaces nothing, and keeps what runs.
 */
import type { ContainerState, ManagedContainer } from '../docker/container-engine.ts';
import type { EventInput } from '../model/event.ts';
import { slotName } from '../model/names.ts';
import { replicaVolumes } from '../model/volume-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { backoffMs } from './backoff.ts';
import { containerLabel } from './container-label.ts';

/** What the agent remembers of a task between passes. Only `converge` writes it. */
export interface TaskRuntime {
  /**
   * The container that serves the task: the one this agent last created or started for it, or
   * the one it adopted. Only its exit or health counts against the task; every other container
   * of the task is a predecessor on its way out, whose death means nothing.
   */
  readonly current: string | null;
  /** Replacements made after the replica stopped (the restart count users see). */
  readonly restarts: number;
  /** Failures (exits or errors) since it last ran stably; drives the backoff. */
  readonly failures: number;
  /**
   * When it last failed: an exit or unhealthy verdict noticed, or a pull/create/start that failed
   * (epoch ms). Backoff counts from here, as Kubernetes counts from the exit: a slow start must not
   * eat the delay.
   */
  readonly lastFailureAt: number | null;
  /** The last pull/create/start failure, cleared when a container runs. */
  readonly lastError: string | null;
  /** The container whose exit is already counted, so one exit counts once. */
  readonly countedExit: string | null;
  /** When it was first seen running in its current container (epoch ms). */
  readonly runningSince: number | null;
  /** How its last container ended, kept across replacements so a crash loop stays explained. */
  readonly lastExit: { readonly code: number | null; readonly oomKilled: boolean } | null;
}

export const FRESH_RUNTIME: TaskRuntime = {
  current: null,
  restarts: 0,
  failures: 0,
  lastFailureAt: null,
  lastError: null,
  countedExit: null,
  runningSince: null,
  lastExit: null,
};

export type Action =
  /** `attempt` numbers the task's containers, so a replacement's name differs from its predecessor's. */
  | { readonly kind: 'create'; readonly task: TaskSpec; readonly attempt: number }
  | { readonly kind: 'start'; readonly task: TaskSpec; readonly containerId: string }
  | {
      readonly kind: 'replace';
      readonly task: TaskSpec;
      readonly containerId: string;
      readonly attempt: number;
    }
  | {
      readonly kind: 'remove';
      readonly taskId: string;
      readonly service: string;
      readonly containerId: string;
      readonly name: string;
    };

/**
 * How a create, start or replace ended, reported by the loop that ran it and folded into the
 * task's memory on the next pass (the loop never writes the memory itself).
 */
export type Outcome =
  /** A container runs for the task: it becomes the current one. */
  | { readonly kind: 'ran'; readonly taskId: string; readonly containerId: string }
  | { readonly kind: 'failed'; readonly taskId: string; readonly error: string; readonly at: number }
  /** The engine already had a container of that name: forget the current one and adopt what is there. */
  | { readonly kind: 'conflict'; readonly taskId: string };

export interface ConvergeInput {
  readonly desired: readonly TaskSpec[];
  /**
   * False until this process has heard the desired set from the server: a cold agent (started
   * from its saved assignment while the server is away) restarts what it knows but removes nothing.
   */
  readonly warm: boolean;
  readonly containers: readonly ManagedContainer[];
  readonly runtime: ReadonlyMap<string, TaskRuntime>;
  /** Outcomes of operations finished since the last pass, oldest first. */
  readonly outcomes: readonly Outcome[];
  /** Running containers whose health check says unhealthy: replaced like crashed ones. */
  readonly unhealthy: ReadonlySet<string>;
  /** Task ids and container ids with an operation in flight. */
  readonly busy: ReadonlySet<string>;
  readonly now: number;
  /** A replica running this long has its failure count reset. */
  readonly stableAfterMs: number;
  /**
   * Before this time (epoch ms) no task gets a create, start or replace: what runs is kept, the
   * rest waits (a restarted agent's saved assignment, until the server answers: restored-hold.ts).
   * Undefined: nothing is held.
   */
  readonly startsHeldUntil?: number | undefined;
}

export interface ConvergePlan {
  readonly actions: readonly Action[];
  readonly runtime: Map<string, TaskRuntime>;
  /** Exits noticed in this pass, as events. */
  readonly events: readonly EventInput[];
  /** The earliest time a backed-off task becomes due, if any. */
  readonly wakeAt: number | null;
  /**
   * Tasks held back, with why: a single-writer volume another task's container still has (a
   * predecessor stopping). Its removal ends with a pass, which starts them.
   */
  readonly waiting: ReadonlyMap<string, string>;
}

const ALIVE: ReadonlySet<ContainerState> = new Set(['running', 'restarting', 'paused', 'removing']);

export function converge(input: ConvergeInput): ConvergePlan {
  const actions: Action[] = [];
  const events: EventInput[] = [];
  const runtime = withOutcomes(input.runtime, input.outcomes);
  let wakeAt: number | null = null;
  const byTask = groupByTask(input.containers);
  const waiting = new Map<string, string>();
  const desiredIds = new Set(input.desired.map((t) => t.task_id));
  const heldUntil =
    input.startsHeldUntil !== undefined && input.now < input.startsHeldUntil ? input.startsHeldUntil : null;
  // Memory of tasks neither desired nor present is dropped; a task still being removed keeps its own.
  for (const taskId of runtime.keys())
    if (!desiredIds.has(taskId) && !byTask.has(taskId)) runtime.delete(taskId);

  for (const task of input.desired) {
    const taskBusy = input.busy.has(task.task_id);
    const found = byTask.get(task.task_id) ?? [];
    let memory = runtime.get(task.task_id) ?? FRESH_RUNTIME;
    const container = currentOf(found, memory, input.busy);
    if (container && memory.current !== container.id && !taskBusy) memory = adopt(memory, container);
    // Predecessors go, but never while the task has an operation in flight: its new container may
    // not be the current one yet (the operation's outcome comes with a later pass).
    for (const other of found) {
      if (other !== container && !taskBusy && !input.busy.has(other.id)) actions.push(removal(other));
    }
    const stopped = container?.state === 'exited' || container?.state === 'dead';
    const unhealthy = container !== undefined && input.unhealthy.has(container.id);
    if (container && (unhealthy || stopped) && memory.countedExit !== container.id) {
      // A failure counts once per container, when first seen; backoff runs from this moment.
      memory = {
        ...memory,
        failures: memory.failures + 1,
        countedExit: container.id,
        runningSince: null,
        lastFailureAt: input.now,
      };
      if (stopped) {
        memory = { ...memory, lastExit: { code: container.exitCode, oomKilled: container.oomKilled } };
        events.push(exitEvent(task, container));
      }
    } else if (container && stopped && container.oomKilled && memory.lastExit?.oomKilled === false) {
      // The engine can report the death (`die`) before the OOM kill behind it: the exit was
      // counted already, so only its account is corrected, once.
      memory = { ...memory, lastExit: { code: container.exitCode, oomKilled: true } };
      events.push(exitEvent(task, container));
    } else if (container && !unhealthy && ALIVE.has(container.state)) {
      memory = trackRunning(memory, container, input);
    }
    const held = taskBusy ? undefined : heldVolume(task, input.containers);
    if (held) waiting.set(task.task_id, held);
    else if (!taskBusy) {
      const decision = decide(task, container, memory, input.now, unhealthy);
      // Held: the exit is counted above, the restart waits, and the loop wakes when the hold ends.
      const action = heldUntil === null ? decision.action : null;
      const dueAt = heldUntil !== null && decision.action !== null ? heldUntil : decision.dueAt;
      if (action?.kind === 'replace') memory = { ...memory, restarts: memory.restarts + 1 };
      if (action) actions.push(withAttempt(action, memory));
      if (dueAt !== null) wakeAt = wakeAt === null ? dueAt : Math.min(wakeAt, dueAt);
    }
    runtime.set(task.task_id, memory);
  }

  if (input.warm) {
    for (const container of input.containers) {
      if (!desiredIds.has(container.taskId) && !input.busy.has(container.id))
        actions.push(removal(container));
    }
  }
  return { actions, runtime, events, wakeAt, waiting };
}

/**
 * Why the task may not create a container yet: another task's container that is not gone has a
 * volume the task mounts single-writer (two replicas must not write one volume at once). Its own
 * containers do not count: a replacement follows an exited one, or one the loop stops first.
 */
function heldVolume(task: TaskSpec, containers: readonly ManagedContainer[]): string | undefined {
  const wanted = replicaVolumes(task.spec, task.slot).filter((v) => !v.shared);
  if (wanted.length === 0) return undefined;
  for (const other of containers) {
    if (other.taskId === task.task_id || other.state === 'exited' || other.state === 'dead') continue;
    const clash = wanted.find((v) => other.volumes?.some((o) => o.name === v.name));
    if (clash)
      return `waiting for volume ${clash.name}: ${containerLabel(slotName(other.service, other.slot), other.id)} still has it`;
  }
  return undefined;
}

function withOutcomes(
  previous: ReadonlyMap<string, TaskRuntime>,
  outcomes: readonly Outcome[],
): Map<string, TaskRuntime> {
  const runtime = new Map(previous);
  for (const outcome of outcomes) {
    const memory = runtime.get(outcome.taskId) ?? FRESH_RUNTIME;
    switch (outcome.kind) {
      case 'ran':
        runtime.set(outcome.taskId, { ...memory, current: outcome.containerId, lastError: null });
        break;
      case 'failed':
        runtime.set(outcome.taskId, {
          ...memory,
          failures: memory.failures + 1,
          lastFailureAt: outcome.at,
          lastError: outcome.error,
        });
        break;
      case 'conflict':
        runtime.set(outcome.taskId, { ...memory, current: null });
        break;
    }
  }
  return runtime;
}

/**
 * The container that serves the task: the remembered one while the engine lists it; otherwise
 * (a fresh agent adopting what runs, or the current one removed behind its back) the best of the
 * rest that no operation is busy with: a live one over a created one over a stopped one, and
 * among equals the most recently created.
 */
function currentOf(
  found: readonly ManagedContainer[],
  memory: TaskRuntime,
  busy: ReadonlySet<string>,
): ManagedContainer | undefined {
  const remembered = found.find((c) => c.id === memory.current);
  if (remembered) return remembered;
  const candidates = found.filter((c) => !busy.has(c.id));
  candidates.sort((a, b) => rank(b) - rank(a) || b.createdAt - a.createdAt);
  return candidates[0];
}

function rank(container: ManagedContainer): number {
  if (ALIVE.has(container.state)) return 2;
  return container.state === 'created' ? 1 : 0;
}

/** A container taken over as the task's own (found running by a fresh agent, or after a name conflict). */
function adopt(memory: TaskRuntime, container: ManagedContainer): TaskRuntime {
  return { ...memory, current: container.id };
}

function withAttempt(action: Action, memory: TaskRuntime): Action {
  if (action.kind === 'create' || action.kind === 'replace') return { ...action, attempt: memory.restarts };
  return action;
}

interface Decision {
  readonly action: Action | null;
  readonly dueAt: number | null;
}

function decide(
  task: TaskSpec,
  container: ManagedContainer | undefined,
  memory: TaskRuntime,
  now: number,
  unhealthy: boolean,
): Decision {
  const dueAt = retryDueAt(task, memory);
  if (!container) {
    // Never tried, or the last try failed: retry once the backoff allows.
    if (memory.lastError !== null && now < dueAt) return { action: null, dueAt };
    return { action: { kind: 'create', task, attempt: memory.restarts }, dueAt: null };
  }
  if (container.state === 'created') {
    if (memory.lastError !== null && now < dueAt) return { action: null, dueAt };
    return { action: { kind: 'start', task, containerId: container.id }, dueAt: null };
  }
  const stopped = container.state === 'exited' || container.state === 'dead';
  if (!stopped && !unhealthy) return { action: null, dueAt: null };
  if (!wantsRestart(task, container, memory)) return { action: null, dueAt: null };
  if (now < dueAt) return { action: null, dueAt };
  return {
    action: { kind: 'replace', task, containerId: container.id, attempt: memory.restarts },
    dueAt: null,
  };
}

/** When a failed task may be tried again. */
export function retryDueAt(task: TaskSpec, memory: TaskRuntime): number {
  return (memory.lastFailureAt ?? 0) + backoffMs(memory.failures, task.spec.restart_policy);
}

export function wantsRestart(task: TaskSpec, container: ManagedContainer, memory: TaskRuntime): boolean {
  const policy = task.spec.restart_policy;
  if (policy.condition === 'never') return false;
  if (policy.condition === 'on-failure' && container.exitCode === 0 && !container.oomKilled) return false;
  return policy.max_attempts === undefined || memory.restarts < policy.max_attempts;
}

function trackRunning(memory: TaskRuntime, container: ManagedContainer, input: ConvergeInput): TaskRuntime {
  if (container.state !== 'running') return memory;
  const since = memory.runningSince ?? input.now;
  const stable = input.now - since >= input.stableAfterMs;
  if (memory.runningSince === since && !stable) return memory;
  return { ...memory, runningSince: since, lastError: null, failures: stable ? 0 : memory.failures };
}

function groupByTask(containers: readonly ManagedContainer[]): Map<string, ManagedContainer[]> {
  const byTask = new Map<string, ManagedContainer[]>();
  for (const container of containers) {
    const list = byTask.get(container.taskId) ?? [];
    list.push(container);
    byTask.set(container.taskId, list);
  }
  return byTask;
}

function removal(container: ManagedContainer): Action {
  return {
    kind: 'remove',
    taskId: container.taskId,
    service: container.service,
    containerId: container.id,
    name: slotName(container.service, container.slot),
  };
}

function exitEvent(task: TaskSpec, container: ManagedContainer): EventInput {
  const name = slotName(task.service, task.slot);
  const who = containerLabel(name, container.id);
  const message = container.oomKilled
    ? `${who} was killed: out of memory (OOM)`
    : `${who} exited with code ${container.exitCode ?? 'unknown'}`;
  return { type: 'container', service: task.service, container: name, node: null, message };
}
