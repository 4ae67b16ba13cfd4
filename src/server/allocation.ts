/**
 * What the replicas on one node hold: reserved CPU and memory, host ports, replicas per service.
 * A replica still shutting down holds its share until its container is gone.
 */
import type { ServiceSpec } from '../model/service-spec.ts';
import { bindsHostPort } from '../model/service-spec.ts';
import type { TaskRecord } from '../model/task.ts';
import { demandOf } from '../scheduler/resources.ts';
import { portKey } from '../scheduler/scheduler.ts';

export interface NodeAllocation {
  cpuMillicores: number;
  memoryBytes: number;
  readonly hostPorts: Set<string>;
  /** Replicas per service that are meant to run here. */
  readonly serviceCounts: Map<string, number>;
  containers: number;
}

export function allocationOf(
  nodeId: string,
  tasks: readonly TaskRecord[],
  specOf: (task: TaskRecord) => ServiceSpec | undefined,
): NodeAllocation {
  return (
    allocationsByNode(
      tasks.filter((t) => t.nodeId === nodeId),
      specOf,
    ).get(nodeId) ?? emptyAllocation()
  );
}

function emptyAllocation(): NodeAllocation {
  return { cpuMillicores: 0, memoryBytes: 0, hostPorts: new Set(), serviceCounts: new Map(), containers: 0 };
}

/** Every node's allocation in one walk over the tasks (nodes holding nothing are absent). */
export function allocationsByNode(
  tasks: readonly TaskRecord[],
  specOf: (task: TaskRecord) => ServiceSpec | undefined,
): Map<string, NodeAllocation> {
  const byNode = new Map<string, NodeAllocation>();
  for (const task of tasks) {
    if (task.nodeId === null) continue;
    if (task.desiredState !== 'running' && task.observed === null) continue;
    let allocation = byNode.get(task.nodeId);
    if (!allocation) {
      allocation = emptyAllocation();
      byNode.set(task.nodeId, allocation);
    }
    allocation.containers++;
    if (task.desiredState === 'running') {
      allocation.serviceCounts.set(task.service, (allocation.serviceCounts.get(task.service) ?? 0) + 1);
    }
    const spec = specOf(task);
    if (!spec) continue;
    const demand = demandOf(spec.resources);
    allocation.cpuMillicores += demand.cpuMillicores;
    allocation.memoryBytes += demand.memoryBytes;
    for (const port of spec.ports) if (bindsHostPort(port)) allocation.hostPorts.add(portKey(port));
  }
  return byNode;
}
