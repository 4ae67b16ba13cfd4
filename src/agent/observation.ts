/**
 * How the agent describes a task to the server: a pure mapping from the container it found, what
 * it remembers and the operation in flight to the task's observed state.
 */
import type { ManagedContainer } from '../docker/container-engine.ts';
import type { Health, TaskObservation } from '../model/task.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import type { TaskRuntime } from './converger.ts';
import { FRESH_RUNTIME, retryDueAt, wantsRestart } from './converger.ts';

export type Operation = 'pull' | 'create' | 'start' | 'replace' | 'remove';

export interface ObserveInput {
  readonly taskId: string;
  /** Absent for a container the server no longer wants. */
  readonly task: TaskSpec | undefined;
  readonly container: ManagedContainer | undefined;
  readonly memory: TaskRuntime | undefined;
  readonly operation: Operation | undefined;
  /** The tracked health of the container, when the service has a check. */
  readonly health:
    | { readonly status: Health; readonly message: string | null; readonly healthySince: number | null }
    | undefined;
  /** Why the task is held back before its container is created (a volume still in use). */
  readonly waiting?: string | undefined;
}

export function observe(input: ObserveInput): TaskObservation {
  const { container, task } = input;
  const memory = input.memory ?? FRESH_RUNTIME;
  const base: TaskObservation = {
    task_id: input.taskId,
    state: 'assigned',
    container_id: container ? container.id.slice(0, 12) : null,
    health: 'none',
    message: null,
    // A container that has not exited (yet) reports no code of its own: show how the last one ended.
    exit_code: container && isStopped(container) ? container.exitCode : (memory.lastExit?.code ?? null),
    restart_count: memory.restarts,
    ports: container ? [...container.ports] : [],
    retry_at: null,
    ready_since: null,
    ip: container?.ip ?? null,
  };
  if (input.operation === 'remove' || (!task && container)) {
    return { ...base, state: input.operation === 'remove' ? 'stopping' : stateOf(container) };
  }
  if (input.operation === 'pull') return { ...base, state: 'pulling' };
  if (input.operation) return { ...base, state: 'starting', message: memory.lastError };
  if (!task) return base;
  if (!container && input.waiting !== undefined) return { ...base, message: input.waiting };
  const dueAt = retryDueAt(task, memory);
  if (!container) {
    return memory.lastError === null
      ? base
      : { ...base, state: 'failed', message: memory.lastError, retry_at: dueAt };
  }
  if (container.state === 'exited' || container.state === 'dead') {
    const message = container.oomKilled
      ? 'OOM killed'
      : `exited with code ${container.exitCode ?? 'unknown'}`;
    return wantsRestart(task, container, memory)
      ? { ...base, state: 'backoff', message, retry_at: dueAt }
      : { ...base, state: 'exited', message };
  }
  const state = stateOf(container);
  if (state !== 'running') return { ...base, state };
  if (!task.spec.health_check) return { ...base, state, ready_since: memory.runningSince };
  const health = input.health ?? { status: 'starting', message: null, healthySince: null };
  const message =
    health.status === 'unhealthy' ? `health check failed: ${health.message ?? 'unknown'}` : null;
  return { ...base, state, health: health.status, message, ready_since: health.healthySince };
}

function stateOf(container: ManagedContainer | undefined): TaskObservation['state'] {
  switch (container?.state) {
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    case 'created':
      return 'starting';
    case 'removing':
      return 'stopping';
    default:
      return 'exited';
  }
}

function isStopped(container: ManagedContainer): boolean {
  return container.state === 'exited' || container.state === 'dead';
}
