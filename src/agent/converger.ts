/**
 * The agent's converger: from the desired tasks of this node, the containers the engine holds
 * (found by label) and what the agent remembers of each task, the actions that bring the engine
 * to the desired state. Pure: time and memory come in, actions and the updated memory go out.
 *
 * It never removes an unknown container before the server has told it what is desired (a cold
 * agent must not delete work), and one task never has two operations in flight.
 */
import type { ContainerState, ManagedContainer } from '../docker/container-engine.ts';
import type { EventInput } from '../model/event.ts';
import { slotName } from '../model/names.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { backoffMs } from './backoff.ts';

/** What the agent remembers of a task between passes. */
export interface TaskRuntime {
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
  restarts: 0,
  failures: 0,
  lastFailureAt: null,
  lastError: null,
  countedExit: null,
  runningSince: null,
  lastExit: null,
};

export type Action =
  | { readonly kind: 'create'; readonly task: TaskSpec }
  | { readonly kind: 'start'; readonly task: TaskSpec; readonly containerId: string }
  | { readonly kind: 'replace'; readonly task: TaskSpec; readonly containerId: string }
  | {
      readonly kind: 'remove';
      readonly taskId: string;
      readonly service: string;
      readonly containerId: string;
      readonly name: string;
    };

export interface ConvergeInput {
  readonly desired: readonly TaskSpec[];
  /**
   * False until this process has heard the desired set from the server: a cold agent (started
   * from its saved assignment while the server is away) restarts what it knows but removes nothing.
   */
  readonly warm: boolean;
  readonly containers: readonly ManagedContainer[];
  readonly runtime: ReadonlyMap<string, TaskRuntime>;
  /** Running containers whose health check says unhealthy: replaced like crashed ones. */
  readonly unhealthy: ReadonlySet<string>;
  /** Task ids and container ids with an operation in flight. */
  readonly busy: ReadonlySet<string>;
  readonly now: number;
  /** A replica running this long has its failure count reset. */
  readonly stableAfterMs: number;
}

export interface ConvergePlan {
  readonly actions: readonly Action[];
  readonly runtime: Map<string, TaskRuntime>;
  /** Exits noticed in this pass, as events. */
  readonly events: readonly EventInput[];
  /** The earliest time a backed-off task becomes due, if any. */
  readonly wakeAt: number | null;
}

const ALIVE: ReadonlySet<ContainerState> = new Set(['running', 'restarting', 'paused', 'removing']);

export function converge(input: ConvergeInput): ConvergePlan {
  const actions: Action[] = [];
  const events: EventInput[] = [];
  const runtime = new Map<string, TaskRuntime>();
  let wakeAt: number | null = null;
  const byTask = groupByTask(input.containers);

  for (const task of input.desired) {
    let memory = input.runtime.get(task.task_id) ?? FRESH_RUNTIME;
    const [container, ...extras] = byTask.get(task.task_id) ?? [];
    for (const extra of extras) {
      if (!input.busy.has(extra.id)) actions.push(removal(extra));
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
    } else if (container && !unhealthy && ALIVE.has(container.state)) {
      memory = trackRunning(memory, container, input);
    }
    runtime.set(task.task_id, memory);
    if (input.busy.has(task.task_id)) continue;

    const decision = decide(task, container, memory, input.now, unhealthy);
    if (decision.action) actions.push(decision.action);
    if (decision.dueAt !== null) wakeAt = wakeAt === null ? decision.dueAt : Math.min(wakeAt, decision.dueAt);
  }

  if (input.warm) {
    const wanted = new Set(input.desired.map((t) => t.task_id));
    for (const container of input.containers) {
      if (!wanted.has(container.taskId) && !input.busy.has(container.id)) actions.push(removal(container));
    }
  }
  return { actions, runtime, events, wakeAt };
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
    return { action: { kind: 'create', task }, dueAt: null };
  }
  if (container.state === 'created') {
    if (memory.lastError !== null && now < dueAt) return { action: null, dueAt };
    return { action: { kind: 'start', task, containerId: container.id }, dueAt: null };
  }
  const stopped = container.state === 'exited' || container.state === 'dead';
  if (!stopped && !unhealthy) return { action: null, dueAt: null };
  if (!wantsRestart(task, container, memory)) return { action: null, dueAt: null };
  if (now < dueAt) return { action: null, dueAt };
  return { action: { kind: 'replace', task, containerId: container.id }, dueAt: null };
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
  // The live container is the one to keep; among equals, the most recently started.
  for (const list of byTask.values()) {
    list.sort(
      (a, b) =>
        Number(ALIVE.has(b.state)) - Number(ALIVE.has(a.state)) || (b.startedAt ?? 0) - (a.startedAt ?? 0),
    );
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
  const message = container.oomKilled
    ? `Container ${name} was killed: out of memory (OOM)`
    : `Container ${name} exited with code ${container.exitCode ?? 'unknown'}`;
  return { type: 'container', service: task.service, container: name, node: null, message };
}
