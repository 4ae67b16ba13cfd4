/**
 * The cluster as metric families, read at scrape time from what the server already holds: the
 * store's services and tasks (served from memory) and the node sessions. Pure: state and `now` in,
 * families out; one scrape of the server covers every service, replica and node.
 */
import { serviceView } from '../api/views.ts';
import type { NodeAvailability, NodeStatus } from '../model/node.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { TaskRecord } from '../model/task.ts';
import { serviceStatusSchema } from '../model/views.ts';
import { allocationsByNode } from '../server/allocation.ts';
import type { StoredService } from '../store/store.ts';
import type { MetricFamily, Sample } from './text-format.ts';
import { UNSCHEDULABLE_REASONS, unschedulableReason } from './unschedulable-reason.ts';

/** What a scrape needs of a node session. */
export interface NodeState {
  readonly id: string;
  readonly status: NodeStatus;
  readonly availability: NodeAvailability;
  readonly connected: boolean;
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  /** Epoch ms of the last heartbeat, null when none since the server started. */
  readonly lastHeartbeat: number | null;
}

export interface ClusterState {
  readonly services: readonly StoredService[];
  readonly tasks: readonly TaskRecord[];
  readonly nodes: readonly NodeState[];
  readonly specOf: (service: string, revision: number) => ServiceSpec | undefined;
  /** Epoch ms. */
  readonly now: number;
}

const NODE_STATUSES: readonly NodeStatus[] = ['ready', 'unreachable', 'down'];
const AVAILABILITIES: readonly NodeAvailability[] = ['active', 'cordoned', 'draining'];

const gauge = (name: string, help: string, samples: Sample[]): MetricFamily => ({
  name,
  help,
  type: 'gauge',
  samples,
});

export function clusterFamilies(state: ClusterState): MetricFamily[] {
  return [...serviceFamilies(state), ...nodeFamilies(state)];
}

function serviceFamilies(state: ClusterState): MetricFamily[] {
  const byService = new Map<string, TaskRecord[]>();
  for (const task of state.tasks) {
    const list = byService.get(task.service);
    if (list) list.push(task);
    else byService.set(task.service, [task]);
  }
  const desired: Sample[] = [];
  const running: Sample[] = [];
  const healthy: Sample[] = [];
  const status: Sample[] = [];
  const services = [...state.services].sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1));
  for (const service of services) {
    const labels = { service: service.spec.name };
    const view = serviceView(service, byService.get(service.spec.name) ?? []);
    desired.push({ labels, value: service.spec.replicas });
    running.push({ labels, value: view.running });
    healthy.push({ labels, value: view.healthy });
    for (const option of serviceStatusSchema.options)
      status.push({ labels: { ...labels, status: option }, value: option === view.status ? 1 : 0 });
  }
  const pending = new Map<string, number>(UNSCHEDULABLE_REASONS.map((r) => [r, 0]));
  for (const task of state.tasks) {
    if (task.desiredState !== 'running' || task.nodeId !== null) continue;
    const reason = unschedulableReason(task.pendingReason);
    pending.set(reason, (pending.get(reason) ?? 0) + 1);
  }
  return [
    gauge('skiff_service_replicas_desired', 'Replicas the service is meant to run.', desired),
    gauge(
      'skiff_service_replicas_running',
      'Replicas of the current revision whose container runs.',
      running,
    ),
    gauge(
      'skiff_service_replicas_healthy',
      'Replicas of the current revision that serve: running, and healthy if checked.',
      healthy,
    ),
    gauge('skiff_service_status', 'The service status skiff ps shows: 1 for the current one.', status),
    gauge(
      'skiff_replicas_unschedulable',
      'Replicas meant to run that no node can take, by the most common rejection.',
      [...pending].map(([reason, value]) => ({ labels: { reason }, value })),
    ),
  ];
}

function nodeFamilies(state: ClusterState): MetricFamily[] {
  const held = allocationsByNode(state.tasks, (t) => state.specOf(t.service, t.revision));
  const nodes = [...state.nodes].sort((a, b) => (a.id < b.id ? -1 : 1));
  const families = {
    status: [] as Sample[],
    availability: [] as Sample[],
    cpu: [] as Sample[],
    memory: [] as Sample[],
    cpuAllocated: [] as Sample[],
    memoryAllocated: [] as Sample[],
    replicas: [] as Sample[],
    connected: [] as Sample[],
    heartbeatAge: [] as Sample[],
  };
  for (const node of nodes) {
    const labels = { node: node.id };
    const allocation = held.get(node.id);
    for (const status of NODE_STATUSES)
      families.status.push({ labels: { ...labels, status }, value: node.status === status ? 1 : 0 });
    for (const availability of AVAILABILITIES)
      families.availability.push({
        labels: { ...labels, availability },
        value: node.availability === availability ? 1 : 0,
      });
    families.cpu.push({ labels, value: node.cpuMillicores / 1000 });
    families.memory.push({ labels, value: node.memoryBytes });
    families.cpuAllocated.push({ labels, value: (allocation?.cpuMillicores ?? 0) / 1000 });
    families.memoryAllocated.push({ labels, value: allocation?.memoryBytes ?? 0 });
    families.replicas.push({ labels, value: allocation?.containers ?? 0 });
    families.connected.push({ labels, value: node.connected ? 1 : 0 });
    if (node.lastHeartbeat !== null)
      families.heartbeatAge.push({ labels, value: Math.max(0, state.now - node.lastHeartbeat) / 1000 });
  }
  return [
    gauge(
      'skiff_node_status',
      'The node status: 1 for the current one (ready, unreachable, down).',
      families.status,
    ),
    gauge(
      'skiff_node_availability',
      'What the operator allows on the node: 1 for the current one (active, cordoned, draining).',
      families.availability,
    ),
    gauge('skiff_node_capacity_cpu_cores', 'CPU the node offers to replicas, in cores.', families.cpu),
    gauge('skiff_node_capacity_memory_bytes', 'Memory the node offers to replicas.', families.memory),
    gauge(
      'skiff_node_allocated_cpu_cores',
      'CPU reserved by the replicas placed on the node, in cores.',
      families.cpuAllocated,
    ),
    gauge(
      'skiff_node_allocated_memory_bytes',
      'Memory reserved by the replicas placed on the node.',
      families.memoryAllocated,
    ),
    gauge(
      'skiff_node_replicas',
      'Containers placed on the node (those still stopping included).',
      families.replicas,
    ),
    gauge(
      'skiff_agent_connected',
      "1 while the node's agent holds its connection to the server.",
      families.connected,
    ),
    gauge(
      'skiff_agent_heartbeat_age_seconds',
      "Time since the node's agent last gave a sign of life (heartbeat or report).",
      families.heartbeatAge,
    ),
  ];
}
