/**
 * Which replicas serve each service, for every host's proxy and DNS: those meant to run, running
 * and healthy (when checked), on a ready node. A replica leaves this list the moment it is told
 * to stop (a rollout, a scale-down, a drain) or turns unhealthy, and before its container stops.
 */
import type { NodeStatus } from '../model/node.ts';
import type { PortSpec } from '../model/service-spec.ts';
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

/**
 * The spec's ports, then those the replicas publish beyond them: their images' `EXPOSE` ports
 * (the agent publishes those too). Swarm's virtual IPs answer on every port, so Compose files
 * rarely list the ports services use among themselves; these make the name answer on them, over
 * the kernel path, unpublished on the cluster.
 */
export function withImagePorts(specPorts: readonly PortSpec[], backends: readonly Backend[]): PortSpec[] {
  const key = (p: { container_port: number; protocol: string }) => `${p.container_port}/${p.protocol}`;
  const known = new Set(specPorts.map(key));
  const extra = new Map<string, PortSpec>();
  for (const backend of backends)
    for (const port of backend.ports)
      if (!known.has(key(port)) && !extra.has(key(port)))
        extra.set(key(port), {
          container_port: port.container_port,
          protocol: port.protocol,
          mode: 'ingress',
          app_protocol: 'tcp',
        });
  if (extra.size === 0) return [...specPorts];
  const sorted = [...extra.values()].sort(
    (a, b) => a.container_port - b.container_port || a.protocol.localeCompare(b.protocol),
  );
  return [...specPorts, ...sorted];
}

export function serviceEndpoints(
  services: readonly EndpointService[],
  tasks: readonly TaskRecord[],
  nodes: readonly EndpointNode[],
): ServiceEndpoints[] {
  const ready = readyById(nodes);
  const serving = new Map<string, TaskRecord[]>();
  for (const task of tasks) {
    if (task.desiredState !== 'running' || !isServing(task)) continue;
    const list = serving.get(task.service) ?? [];
    list.push(task);
    serving.set(task.service, list);
  }
  return services.map((service) => endpointsOf(service, serving.get(service.service.spec.name) ?? [], ready));
}

/** The ready nodes by id: what `endpointsOf` places backends on (built once a pass, not per service). */
export function readyById(nodes: readonly EndpointNode[]): ReadonlyMap<string, EndpointNode> {
  return new Map(nodes.filter((n) => n.status === 'ready').map((n) => [n.id, n]));
}

/** One service's endpoints, from its serving replicas (running, and healthy if it checks). */
export function endpointsOf(
  { service, vipIndex, networks }: EndpointService,
  serving: readonly TaskRecord[],
  ready: ReadonlyMap<string, EndpointNode>,
): ServiceEndpoints {
  const backends: Backend[] = [];
  for (const task of serving) {
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
    ports: withImagePorts(service.spec.ports, backends),
    backends,
    ...(service.spec.aliases?.length ? { aliases: [...service.spec.aliases] } : {}),
  };
}
