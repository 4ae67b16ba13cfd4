/**
 * The service reconciler: from a service's desired spec and its tasks, the tasks to create, to
 * shut down and to forget. Pure and idempotent: run it on the same inputs twice and the second
 * plan is empty once the first was applied.
 *
 * A spec change replaces each slot start-first (the new replica runs, and is healthy when it has
 * a check, before the old one is told to stop), except when the service binds fixed host ports:
 * the old replica holds the port, so it stops first. A replica on a draining node is replaced
 * the same way, so a drain never lowers the number of serving replicas.
 */
import type { ServiceSpec } from '../model/service-spec.ts';
import type { Task, TaskObservation } from '../model/task.ts';

export interface ReconcilerTask extends Task {
  readonly observed: TaskObservation | null;
}

export interface DesiredService {
  readonly spec: ServiceSpec;
  readonly revision: number;
}

export interface ServicePlan {
  readonly create: readonly Task[];
  readonly shutdown: readonly string[];
  /** Shut-down tasks whose container is gone (or never existed): their rows can go. */
  readonly forget: readonly string[];
}

export interface ReconcileInput {
  readonly service: string;
  readonly desired: DesiredService | undefined;
  readonly tasks: readonly ReconcilerTask[];
  /** Nodes being drained: their replicas are replaced elsewhere, start-first. */
  readonly drainingNodes: ReadonlySet<string>;
  readonly now: number;
  readonly newTaskId: () => string;
}

/** A replica that is running and, if the service checks health, passing. */
export function isServing(task: ReconcilerTask): boolean {
  const observed = task.observed;
  return observed?.state === 'running' && (observed.health === 'healthy' || observed.health === 'none');
}

export function reconcileService(input: ReconcileInput): ServicePlan {
  const { desired, tasks } = input;
  const create: Task[] = [];
  const shutdown: string[] = [];
  const forget = tasks
    .filter((t) => t.desiredState === 'shutdown' && (t.observed === null || t.nodeId === null))
    .map((t) => t.id);
  const live = tasks.filter((t) => t.desiredState === 'running');

  if (!desired) {
    return { create, shutdown: live.map((t) => t.id), forget };
  }

  const stopFirst = desired.spec.ports.some((p) => p.host_port !== undefined);
  for (let slot = 0; slot < desired.spec.replicas; slot++) {
    const inSlot = live.filter((t) => t.slot === slot);
    const staying = (t: ReconcilerTask) => t.nodeId === null || !input.drainingNodes.has(t.nodeId);
    const current = inSlot
      .filter((t) => t.revision === desired.revision && staying(t))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
    const [keep, ...extras] = current;
    shutdown.push(...extras.map((t) => t.id));
    if (!keep) {
      create.push({
        id: input.newTaskId(),
        service: input.service,
        slot,
        revision: desired.revision,
        nodeId: null,
        desiredState: 'running',
        pendingReason: null,
        createdAt: input.now,
      });
    }
    const outdated = inSlot.filter((t) => t.revision !== desired.revision || !staying(t));
    // An outdated replica that was never placed serves no one: nothing to wait for.
    const replaceNow = stopFirst || (keep !== undefined && isServing(keep));
    shutdown.push(...outdated.filter((t) => replaceNow || t.nodeId === null).map((t) => t.id));
  }
  shutdown.push(...live.filter((t) => t.slot >= desired.spec.replicas).map((t) => t.id));
  return { create, shutdown, forget };
}
