/** Nodes and placement requests for the scheduler's tests: a plain ready node, a plain request. */
import type { PortSpec } from '../model/service-spec.ts';
import type { NodeSnapshot, PlacementRequest } from './scheduler.ts';

export function node(id: string, overrides: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    id,
    status: 'ready',
    schedulable: true,
    labels: {},
    cpuMillicores: 4000,
    memoryBytes: 8 * 1024 ** 3,
    allocatedCpuMillicores: 0,
    allocatedMemoryBytes: 0,
    usedHostPorts: new Set(),
    serviceCounts: new Map(),
    ...overrides,
  };
}

export function request(taskId: string, overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    taskId,
    service: 'web',
    // Under 20: one replica per node while nodes are available, as the tests assume.
    desiredReplicas: 3,
    demand: { cpuMillicores: 0, memoryBytes: 0 },
    ports: [],
    constraints: [],
    strategy: 'binpack',
    penalizedNodes: new Set(),
    ...overrides,
  };
}

/** Container port 80 on host port 8080, published on the host unless another mode is given. */
export function hostPort(overrides: Partial<PortSpec> = {}): PortSpec {
  return {
    container_port: 80,
    host_port: 8080,
    protocol: 'tcp',
    mode: 'host',
    app_protocol: 'tcp',
    ...overrides,
  };
}
