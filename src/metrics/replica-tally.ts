/**
 * What one converge pass of an agent means for its exit and restart counters, read from the
 * converger's own memory (it counts each container's exit once: `countedExit`) and the actions it
 * decided. Pure: memory before and after, the actions and the unhealthy containers in.
 */
import type { Action, TaskRuntime } from '../agent/converger.ts';

export type ExitReason = 'completed' | 'error' | 'oom_killed';
export type RestartReason = ExitReason | 'unhealthy';

export interface ReplicaTally {
  readonly exits: readonly { readonly service: string; readonly reason: ExitReason }[];
  readonly restarts: readonly { readonly service: string; readonly reason: RestartReason }[];
}

export interface ReplicaTallyInput {
  readonly before: ReadonlyMap<string, TaskRuntime>;
  readonly after: ReadonlyMap<string, TaskRuntime>;
  readonly actions: readonly Action[];
  /** Containers whose health check said unhealthy when the pass began. */
  readonly unhealthy: ReadonlySet<string>;
  readonly serviceOf: (taskId: string) => string | undefined;
}

function exitReason(lastExit: TaskRuntime['lastExit']): ExitReason {
  if (lastExit?.oomKilled) return 'oom_killed';
  return lastExit?.code === 0 ? 'completed' : 'error';
}

export function replicaTally(input: ReplicaTallyInput): ReplicaTally {
  const exits: { service: string; reason: ExitReason }[] = [];
  const restarts: { service: string; reason: RestartReason }[] = [];
  for (const [taskId, after] of input.after) {
    const before = input.before.get(taskId);
    // A new exit counted, with its account: an unhealthy verdict counts a failure but no exit.
    if (after.countedExit === null || after.countedExit === before?.countedExit) continue;
    if (after.lastExit === null || after.lastExit === before?.lastExit) continue;
    const service = input.serviceOf(taskId);
    if (service !== undefined) exits.push({ service, reason: exitReason(after.lastExit) });
  }
  for (const action of input.actions) {
    if (action.kind !== 'replace') continue;
    const memory = input.after.get(action.task.task_id);
    const reason: RestartReason = input.unhealthy.has(action.containerId)
      ? 'unhealthy'
      : exitReason(memory?.lastExit ?? null);
    restarts.push({ service: action.task.service, reason });
  }
  return { exits, restarts };
}
