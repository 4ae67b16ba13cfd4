/**
 * The agent's prepared replicas, the pure half (the I/O is prepared-replicas.ts): from the set the
 * server wants prepared (`prepare`), the containers the engine holds and the tasks assigned here,
 * what to create and what to remove. A prepared container is created, never started, and carries
 * the `skiff.prepared` label beside the task's own labels.
 *
 * - A prepared container whose task is assigned here belongs to the converger: it is that task's
 *   container, and the converger starts it. Nothing here touches it.
 * - One started (whatever its state now) is an ordinary container of its task: the converger's too.
 * - Created and unassigned: kept while wanted (one per task), removed when not. A fresh agent
 *   wants nothing until its server says, so a restart sweeps every leftover.
 * - A wanted task that is not assigned and has no container at all is created, unless its last
 *   try failed (retried when the server sends the set again).
 */
import type { ManagedContainer } from '../docker/container-engine.ts';
import type { TaskSpec } from '../protocol/messages.ts';

export type PreparedAction =
  | { readonly kind: 'create'; readonly task: TaskSpec }
  | { readonly kind: 'remove'; readonly taskId: string; readonly containerId: string };

export interface PreparedInput {
  readonly wanted: readonly TaskSpec[];
  readonly containers: readonly ManagedContainer[];
  /** Tasks assigned to this node (the converger's desired set). */
  readonly assigned: ReadonlySet<string>;
  /** Task ids and container ids with an operation in flight. */
  readonly busy: ReadonlySet<string>;
  /** Tasks whose last create failed since the set was last sent. */
  readonly failed: ReadonlySet<string>;
}

/** Never started: still only prepared. */
export function isUnstartedPrepared(container: ManagedContainer): boolean {
  return container.prepared === true && container.state === 'created' && container.startedAt === null;
}

export function planPrepared(input: PreparedInput): PreparedAction[] {
  const actions: PreparedAction[] = [];
  const wanted = new Set(input.wanted.map((t) => t.task_id));
  const kept = new Set<string>();
  const present = new Set(input.containers.map((c) => c.taskId));
  for (const container of input.containers) {
    if (!isUnstartedPrepared(container) || input.assigned.has(container.taskId)) continue;
    if (input.busy.has(container.id) || input.busy.has(container.taskId)) continue;
    if (wanted.has(container.taskId) && !kept.has(container.taskId)) {
      kept.add(container.taskId);
      continue;
    }
    actions.push({ kind: 'remove', taskId: container.taskId, containerId: container.id });
  }
  for (const task of input.wanted) {
    const id = task.task_id;
    if (input.assigned.has(id) || present.has(id) || input.busy.has(id) || input.failed.has(id)) continue;
    actions.push({ kind: 'create', task });
  }
  return actions;
}

/**
 * The containers the converger sees: a prepared one only once its task is assigned here (until
 * then it is nobody's task, and the converger would remove it as a stranger's leftover).
 */
export function visibleToConverger(
  containers: readonly ManagedContainer[],
  assigned: ReadonlySet<string>,
): ManagedContainer[] {
  if (!containers.some((c) => c.prepared)) return [...containers];
  return containers.filter((c) => !isUnstartedPrepared(c) || assigned.has(c.taskId));
}
