/**
 * Which replicas serve each service, for every host's proxy and DNS: those meant to run, running
 * and healthy (when checked), on a ready node. A replica leaves this list the moment it is told
 * to stop (a rollout, a scale-down, a drain) or turns unhealthy, and before its container stops.
 */
import type { NodeStatus } from '../model/node.ts';
import type { TaskRecord } from '../model/task.ts';
import type { Backend, NetworkRef, ServiceEndpoints } from '../protocol/messages.ts';
import { isServing } from '../reconciler/service-reconciler.ts';
import type { StoredService } from '../store/store.ts';

export interface EndpointService {
  readonly service: StoredService;
  readonly vipIndex: number;
  readonly networks: readonly NetworkRef[];
}

/** What the endpoints need of a node. */
export interface EndpointNode {
  readonly id: string;
  readonly status: NodeStatus;
  readonly address: string;
}

export function serviceEndpoints(
  services: readonly EndpointService[],
  tasks: readonly TaskRecord[],
  nodes: readonly EndpointNode[],
): ServiceEndpoints[] {
  const ready = new Map(nodes.filter((n) => n.status === 'ready').map((n) => [n.id, n]));
  const serving = new Map<string, TaskRecord[]>();
  for (const task of tasks) {
    if (task.desiredState !== 'running' || !isServing(task)) continue;
    const list = serving.get(task.service) ?? [];
    list.push(task);
    serving.set(task.service, list);
  }
  return services.map(({ service, vipIndex, networks }) => {
    const backends: Backend[] = [];
    for (const task of serving.get(service.spec.name) ?? []) {
      const node = task.nodeId === null ? undefined : ready.get(task.nodeId);
      if (!node || !task.observed) continue;
      backends.push({
        task_id: task.id,
        node_id: node.id,
        address: node.address,
        container_ip: task.observed.ip,
        ports: task.observed.ports,
      });
    }
    backends.sort((a, b) => (a.task_id < b.task_id ? -1 : 1));
    return {
      name: service.spec.name,
      vip_index: vipIndex,
      networks: [...networks],
      ports: service.spec.ports,
      backends,
      ...(service.spec.aliases?.length ? { aliases: [...service.spec.aliases] } : {}),
    };
  });
}
