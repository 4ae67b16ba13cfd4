/**
 * Builds the API's views from stored desired state, observed state and node sessions. Pure:
 * what `ps` shows is decided here, in one place.
 */
import { isoTimeOrNull } from '../model/bounds.ts';
import { slotName } from '../model/names.ts';
import { describePullWait } from '../model/rollout.ts';
import type { ContainerView, NodeView, ServiceView } from '../model/views.ts';
import { isServing } from '../reconciler/service-reconciler.ts';
import type { NodeAllocation } from '../server/allocation.ts';
import type { NodeSession, Refusal } from '../server/cluster.ts';
import { labelsOf } from '../server/cluster.ts';
import type { StoredService, StoredTask } from '../store/store.ts';

export function serviceView(service: StoredService, tasks: readonly StoredTask[]): ServiceView {
  // Replicas still shutting down stay visible until their container is gone.
  const visible = tasks
    .filter((t) => t.desiredState === 'running' || t.observed !== null)
    .sort((a, b) => a.slot - b.slot || a.revision - b.revision);
  const current = visible.filter((t) => t.desiredState === 'running' && t.revision === service.revision);
  const running = current.filter((t) => t.observed?.state === 'running').length;
  const healthy = current.filter(isServing).length;
  // A global service wants one replica per node it runs on: as many as the nodes it has tasks for.
  const replicas =
    service.spec.mode === 'global'
      ? new Set(tasks.filter((t) => t.desiredState === 'running').map((t) => t.nodeId ?? t.id)).size
      : service.spec.replicas;
  const { status, message } = statusOf(service, replicas, current, visible, running, healthy);
  return {
    ...service.spec,
    replicas,
    revision: service.revision,
    status,
    running,
    healthy,
    message,
    created_at: new Date(service.createdAt).toISOString(),
    updated_at: new Date(service.updatedAt).toISOString(),
    rollout: service.rollout,
    containers: visible.map(containerView),
  };
}

function statusOf(
  service: StoredService,
  replicas: number,
  current: readonly StoredTask[],
  visible: readonly StoredTask[],
  running: number,
  healthy: number,
): { status: ServiceView['status']; message: string | null } {
  if (replicas === 0) return { status: 'stopped', message: null };
  const failed = current.find((t) => t.observed?.state === 'failed');
  const rollout = service.rollout;
  // While a rollout from an earlier revision runs, a failing new replica is the rollout's to judge
  // (it rolls back, or is marked failed): the service is still updating, with the reason shown.
  const rollingOut = rollout?.state === 'in_progress' && rollout.from_revision !== null;
  if (failed && !rollingOut) {
    return { status: 'failed', message: `${label(failed)}: ${failed.observed?.message ?? 'failed'}` };
  }
  const pending = current.find((t) => t.nodeId === null);
  if (pending)
    return {
      status: 'pending',
      message: `${label(pending)}: ${pending.pendingReason ?? 'waiting to be scheduled'}`,
    };
  const converged = healthy === replicas && running === replicas && visible.length === replicas;
  if (converged) return { status: 'running', message: null };
  if (rollingOut) {
    const pulling = describePullWait(rollout?.pull);
    if (pulling)
      return { status: 'updating', message: `rolling out revision ${rollout?.to_revision}: ${pulling}` };
    const updated = current.filter(isServing).length;
    const trouble = failed ? ` (${label(failed)}: ${failed.observed?.message ?? 'failed'})` : '';
    return {
      status: 'updating',
      message: `rolling out revision ${rollout?.to_revision}: ${updated}/${replicas} replicas updated${trouble}`,
    };
  }
  const troubled = current.find((t) => t.observed?.state === 'backoff' || t.observed?.state === 'exited');
  if (troubled) {
    return {
      status: 'degraded',
      message: `${label(troubled)}: ${troubled.observed?.message ?? troubled.observed?.state}`,
    };
  }
  return { status: 'starting', message: null };
}

function label(task: StoredTask): string {
  return slotName(task.service, task.slot);
}

function containerView(task: StoredTask): ContainerView {
  const observed = task.observed;
  return {
    id: observed?.container_id ?? null,
    name: slotName(task.service, task.slot),
    status: observed?.state ?? (task.nodeId === null ? 'pending' : 'assigned'),
    health: observed?.health ?? 'none',
    node_id: task.nodeId,
    task_id: task.id,
    slot: task.slot,
    revision: task.revision,
    restart_count: observed?.restart_count ?? 0,
    exit_code: observed?.exit_code ?? null,
    message: observed?.message ?? task.pendingReason,
    retry_at: isoTimeOrNull(observed?.retry_at),
    ports: observed?.ports ?? [],
  };
}

export function nodeView(node: NodeSession, allocation: NodeAllocation, refusal?: Refusal): NodeView {
  return {
    id: node.id,
    name: node.registration.name,
    status: node.status,
    availability: node.availability,
    address: node.registration.address,
    labels: labelsOf(node),
    engine_version: node.registration.engine_version,
    cpu_millicores: node.registration.cpu_millicores,
    memory_bytes: node.registration.memory_bytes,
    allocated_cpu_millicores: allocation.cpuMillicores,
    allocated_memory_bytes: allocation.memoryBytes,
    containers: allocation.containers,
    joined_at: new Date(node.joinedAt).toISOString(),
    last_heartbeat: node.lastHeartbeat === null ? null : new Date(node.lastHeartbeat).toISOString(),
    message: refusal === undefined ? null : refusalMessage(refusal),
  };
}

/** A refused agent of a name the cluster does not know: listed so its operator sees why. */
export function refusedNodeView(refusal: Refusal): NodeView {
  const { registration } = refusal;
  return {
    id: registration.name,
    name: registration.name,
    status: 'unreachable',
    availability: 'active',
    address: registration.address,
    labels: registration.labels,
    engine_version: registration.engine_version,
    cpu_millicores: registration.cpu_millicores,
    memory_bytes: registration.memory_bytes,
    allocated_cpu_millicores: 0,
    allocated_memory_bytes: 0,
    containers: 0,
    joined_at: new Date(refusal.since).toISOString(),
    last_heartbeat: null,
    message: refusalMessage(refusal),
  };
}

function refusalMessage(refusal: Refusal): string {
  return `refused: ${refusal.reason} (last tried ${new Date(refusal.lastAt).toISOString()})`;
}
