/**
 * Snapshots for planPass's tests, built by hand: a service, a ready connected node with every
 * agent feature, a task running where it is placed, and the snapshot around them; and the
 * registration an agent's hello carries, for tests that connect nodes to a real Cluster.
 */
import type { NodeRegistration } from '../model/node.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskObservation, TaskRecord } from '../model/task.ts';
import { DEFAULT_POLICY } from '../policy/admission-policy.ts';
import { AGENT_FEATURES } from '../protocol/features.ts';
import type { StoredService } from '../store/store.ts';
import { DEFAULT_LIVENESS } from './node-liveness.ts';
import type { PassMemory, PassNode, PassSnapshot } from './pass-snapshot.ts';
import { specKey } from './pass-snapshot.ts';

export const NOW = 1_000_000;
export const GiB = 1024 ** 3;

export function service(name: string, replicas: number, extra: Record<string, unknown> = {}): StoredService {
  return {
    spec: serviceSpecSchema.parse({
      name,
      image: 'skiff-demo:v1',
      replicas,
      resources: { cpus: 0.5, memory_mb: 64 },
      ...extra,
    }),
    revision: 1,
    createdAt: 0,
    updatedAt: 0,
    rollout: null,
  };
}

export function node(id: string, overrides: Partial<PassNode> = {}): PassNode {
  return {
    id,
    status: 'ready',
    availability: 'active',
    labels: {},
    address: `10.0.0.${id.length}`,
    cpuMillicores: 4000,
    memoryBytes: 8 * GiB,
    features: new Set(AGENT_FEATURES),
    liveness: DEFAULT_LIVENESS,
    connected: true,
    lastSeen: NOW,
    downNotBefore: 0,
    sentAssignment: undefined,
    sentEndpoints: undefined,
    endpointsAcked: -1,
    pulls: new Map(),
    pullsAsked: new Set(),
    ...overrides,
  };
}

export function running(id: string): TaskObservation {
  return {
    task_id: id,
    state: 'running',
    container_id: `c-${id}`,
    health: 'none',
    message: null,
    exit_code: null,
    restart_count: 0,
    ports: [],
    retry_at: null,
    ready_since: 0,
    ip: '172.20.0.2',
  };
}

/** A task of revision 1 on its node, running there unless `up` is false or it is unplaced. */
export function task(id: string, svc: string, slot: number, nodeId: string | null, up = true): TaskRecord {
  return {
    id,
    service: svc,
    slot,
    revision: 1,
    nodeId,
    desiredState: 'running',
    pendingReason: null,
    createdAt: 10 + slot,
    observed: up && nodeId !== null ? running(id) : null,
  };
}

/** The memory of a server that has not yet sent anything. */
export const FRESH_MEMORY: PassMemory = {
  failures: new Map(),
  releases: new Map(),
  assignGeneration: 100,
  endpointsGeneration: 200,
  endpoints: undefined,
  endpointsPublishedAt: 0,
};

export function snapshot(
  services: readonly StoredService[],
  tasks: readonly TaskRecord[],
  nodes: readonly PassNode[],
  memory: PassMemory = FRESH_MEMORY,
): PassSnapshot {
  const specs = new Map<string, ServiceSpec>(services.map((s) => [specKey(s.spec.name, s.revision), s.spec]));
  return {
    services,
    tasks,
    specs,
    allocations: services.map((s, i) => ({ kind: 'service' as const, name: s.spec.name, index: i + 1 })),
    policy: DEFAULT_POLICY,
    networkCount: 256,
    nodes,
    memory,
    liveness: DEFAULT_LIVENESS,
    addressHoldMs: 5000,
  };
}

/** Task ids in order: t000, t001, … (or another prefix). */
export function ids(prefix = 't'): () => string {
  let next = 0;
  return () => `${prefix}${String(next++).padStart(3, '0')}`;
}

/** What node `name`'s agent registers with (1 CPU, 1 GiB unless `overrides` say). */
export function registration(name: string, overrides: Partial<NodeRegistration> = {}): NodeRegistration {
  return {
    name,
    engine_id: `e-${name}`,
    address: '10.0.0.1',
    labels: {},
    cpu_millicores: 1000,
    memory_bytes: 2 ** 30,
    engine_version: '27',
    ...overrides,
  };
}
