/** Nodes and placement requests for the scheduler's tests: a plain ready node, a plain request. */
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
