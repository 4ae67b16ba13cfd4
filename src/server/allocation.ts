/**
 * What the replicas on one node hold: reserved CPU and memory, host ports, replicas per service.
 * A replica still shutting down holds its share until its container is gone.
 */
import type { ServiceSpec } from '../model/service-spec.ts';
import { bindsHostPort } from '../model/service-spec.ts';
import { demandOf } from '../scheduler/resources.ts';
import { portKey } from '../scheduler/scheduler.ts';
import type { StoredTask } from '../store/store.ts';

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
  tasks: readonly StoredTask[],
  specOf: (task: StoredTask) => ServiceSpec | undefined,
): NodeAllocation {
  const allocation: NodeAllocation = {
    cpuMillicores: 0,
    memoryBytes: 0,
    hostPorts: new Set(),
    serviceCounts: new Map(),
    containers: 0,
  };
  for (const task of tasks) {
    if (task.nodeId !== nodeId) continue;
    if (task.desiredState !== 'running' && task.observed === null) continue;
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
  return allocation;
}
