/**
 * What one controller pass reads, as one value: desired state (services, the specs of the
 * revisions in use, tasks, address allocations), the nodes as the server knows them (liveness
 * inputs, operator settings, what their current link was last sent) and the controller's own
 * memory between passes. `planPass` (plan-pass.ts) turns it into a plan; `readSnapshot` takes it.
 */
import type { NodeAvailability, NodeStatus } from '../model/node.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { TaskRecord } from '../model/task.ts';
import type { AdmissionPolicy } from '../policy/admission-policy.ts';
import { readPolicy } from '../policy/policy-store.ts';
import type { ServiceEndpoints } from '../protocol/messages.ts';
import type { PullObservation } from '../reconciler/pre-pull.ts';
import type { ImagePresence } from '../scheduler/image-locality.ts';
import type { Store, StoredService } from '../store/store.ts';
import type { Allocation, PendingRelease } from './address-release.ts';
import type { Cluster } from './cluster.ts';
import { labelsOf } from './cluster.ts';
import type { PublishedEndpoints } from './endpoints-history.ts';
import type { ImageInventory } from './image-inventory.ts';
import type { LivenessSettings } from './node-liveness.ts';
import { livenessFor } from './node-liveness.ts';
import type { Preparation } from './prepare-plan.ts';
import type { VolumePlaces } from './volume-registry.ts';

export type { PublishedEndpoints } from './endpoints-history.ts';

import { volumePlaces } from './volume-registry.ts';

export interface PassNode {
  readonly id: string;
  readonly status: NodeStatus;
  readonly availability: NodeAvailability;
  /** The agent's labels with the operator's over them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly address: string;
  readonly cpuMillicores: number;
  readonly memoryBytes: number;
  readonly features: ReadonlySet<string>;
  /** Liveness inputs (node-liveness.ts), and the timing for the interval its agent beats at. */
  readonly liveness: LivenessSettings;
  readonly connected: boolean;
  readonly lastSeen: number;
  readonly downNotBefore: number;
  /** Indirect probes found its replicas unreachable since it went silent (node-probes.ts); absent: no. */
  readonly probedDown?: boolean;
  /** The key of the assignment last sent over the current link (see plan-pass.ts). */
  readonly sentAssignment: string | undefined;
  /** The key of the prepared set last sent over the current link (plan-pass.ts); undefined: none. */
  readonly sentPrepared?: string | undefined;
  /** The endpoints generation last sent over the current link. */
  readonly sentEndpoints: number | undefined;
  /** The endpoints generation its agent last acknowledged over the current link. */
  readonly endpointsAcked: number;
  /** An endpoints message for it still waits to be written (endpoints-outbox.ts): plan it none. */
  readonly sending?: boolean;
  /** What its agent said of each pull phase, by request id (reconciler/pre-pull.ts). */
  readonly pulls: ReadonlyMap<string, PullObservation>;
  /** Pull requests sent over its current link. */
  readonly pullsAsked: ReadonlySet<string>;
  /** The images its engine has, as its agent reported them (image locality); undefined: unknown. */
  readonly images?: ImagePresence | undefined;
}

/** What the controller remembers from one pass to the next (memory only). */
export interface PassMemory {
  /** service → node → when a replica of it was lost there (node down, drained away). */
  readonly failures: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Addresses no longer used, on their way back to the pool (address-release.ts). */
  readonly releases: ReadonlyMap<string, PendingRelease>;
  /** The last assignment generation sent; generations only grow, across restarts too. */
  readonly assignGeneration: number;
  /** Each connected node's assignment key as last computed, to skip recomputing an unchanged one. */
  readonly assignmentKeys?: ReadonlyMap<string, AssignmentKeyMemory>;
  /**
   * What `assignmentKeys` were computed from, when every one of them had been sent: a pass on the
   * same placements and references, to the same nodes, has no assignment to send (plan-pass.ts).
   */
  readonly assignedFrom?: AssignedFrom;
  /**
   * What the last pass's services were reconciled from, when every one of them was steady: a pass
   * on the same services, placements and draining nodes finds them all steady again (plan-pass.ts).
   */
  readonly steadyFrom?: SteadyFrom;
  readonly endpointsGeneration: number;
  /** The endpoint set of `endpointsGeneration`, per service, to tell a change cheaply. */
  readonly endpoints: EndpointsMemory | undefined;
  /** When `endpointsGeneration` was made (plan-pass.ts paces additions). */
  readonly endpointsPublishedAt: number;
  /** Replacements prepared for silent nodes' replicas, by the replica's id (prepare-plan.ts); absent: none. */
  readonly preparations?: ReadonlyMap<string, Preparation>;
}

/** What isSteady read of the last pass, when every service was steady (plan-pass.ts `reconcileServices`). */
export interface SteadyFrom {
  readonly placementVersion: number;
  /** The service records, by name (records are replaced, never mutated: compared by identity). */
  readonly services: readonly StoredService[];
  readonly draining: string;
}

/** What the last pass's assignments were made of (plan-pass.ts `assign`). */
export interface AssignedFrom {
  readonly placementVersion: number;
  /** The admission policy and network indices the references were made of, as text. */
  readonly refs: string;
}

/** A node's assignment key and what it was made from, in the pass's task order (plan-pass.ts `assign`). */
export interface AssignmentKeyMemory {
  readonly taskIds: readonly string[];
  readonly refKeys: readonly string[];
  readonly key: string;
}

/** Each service's endpoints as last computed, with what they were computed from. */
export interface EndpointsMemory {
  /** The ready nodes and their addresses, as text: when it changes, everything is recomputed. */
  readonly readyNodes: string;
  /** Each service's set as last computed (published or not). */
  readonly services: ReadonlyMap<string, ServiceEndpointsMemory>;
  /** The set of `endpointsGeneration`, by service name (in name order): what nodes are sent. */
  readonly published: ReadonlyMap<string, PublishedEndpoints>;
  /**
   * Services removed from the published set, with the generation that removed them: a delta from
   * an earlier generation names them. Kept back to `deltasSince`.
   */
  readonly removed: ReadonlyMap<string, number>;
  /**
   * Deltas can be made from this generation on (the tombstones of older removals are gone): a
   * node last sent an older one is sent the whole set.
   */
  readonly deltasSince: number;
  /**
   * Every known node's address, sorted, as last sent: each agent lets only these reach its
   * replicas' node-to-node published ports (net/data-plane/netfilter-rules.ts).
   */
  readonly peers: readonly string[];
  /** The generation that last changed `peers`. */
  readonly peersGeneration: number;
  /** A computed change waits for its turn (plan-pass.ts paces them). */
  readonly pending: boolean;
}

export interface ServiceEndpointsMemory {
  /** The records they came from, compared by identity: the store replaces a record it changes. */
  readonly service: StoredService;
  readonly serving: readonly TaskRecord[];
  readonly vipIndex: number;
  readonly networks: string;
  readonly entry: ServiceEndpoints;
  readonly text: string;
}

export interface PassSnapshot {
  readonly services: readonly StoredService[];
  readonly tasks: readonly TaskRecord[];
  /** The store's `placementVersion` when `tasks` were read; absent: not counted. */
  readonly placementVersion?: number;
  /** The specs of the revisions the tasks run (and of current revisions), by `specKey`. */
  readonly specs: ReadonlyMap<string, ServiceSpec>;
  readonly allocations: readonly Allocation[];
  /** The admission policy each task carries its service's part of (agents check it before creating). */
  readonly policy: AdmissionPolicy;
  /** How many networks the cluster's address pool holds (indices 0 … networkCount − 1). */
  readonly networkCount: number;
  readonly nodes: readonly PassNode[];
  readonly memory: PassMemory;
  /** The base timing, for nodes that have not been told an interval. */
  readonly liveness: LivenessSettings;
  /** How long a freed address waits after every agent acknowledged its removal. */
  readonly addressHoldMs: number;
  /** How many nodes a rollout's pull phase asks at once (default reconciler/pre-pull.ts PULL_PARALLELISM). */
  readonly pullParallelism?: number;
  /** Where the cluster's volumes are (volume-registry.ts); absent: nowhere known. */
  readonly volumes?: VolumePlaces;
}

export function specKey(service: string, revision: number): string {
  return `${service}\u0000${revision}`;
}

export interface SnapshotSources {
  readonly store: Store;
  readonly cluster: Cluster;
  readonly memory: PassMemory;
  readonly liveness: LivenessSettings;
  readonly networkCount: number;
  /** The heartbeat interval `liveness` was made for. */
  readonly baseHeartbeatIntervalMs: number;
  readonly addressHoldMs: number;
  readonly pullParallelism?: number;
  /** The spec of a revision (cached by the controller: revisions never change once written). */
  readonly specOf: (service: string, revision: number) => ServiceSpec | undefined;
  /** The nodes' images, for the scheduler's image locality; absent, no locality. */
  readonly images?: ImageInventory | undefined;
  /** Whether an endpoints message for a node still waits to be written; absent: none ever does. */
  readonly sendingEndpoints?: (nodeId: string) => boolean;
}

/** One read of everything a pass needs. Synchronous, so nothing can write in between. */
export function readSnapshot(sources: SnapshotSources): PassSnapshot {
  const { store, cluster, specOf } = sources;
  const services = store.listServices();
  const tasks = store.taskSnapshot();
  const specs = new Map<string, ServiceSpec>();
  // Looked up per (service, revision) pair, not per task: 10,000 tasks share a few hundred.
  const seen = new Map<string, Set<number>>();
  const want = (service: string, revision: number) => {
    const revisions = seen.get(service) ?? new Set<number>();
    if (revisions.has(revision)) return;
    revisions.add(revision);
    seen.set(service, revisions);
    const spec = specOf(service, revision);
    if (spec) specs.set(specKey(service, revision), spec);
  };
  // The revision a rollout started from: its image tells whether the rollout pulls first.
  for (const service of services) {
    want(service.spec.name, service.revision);
    const from = service.rollout?.from_revision;
    if (service.rollout?.state === 'in_progress' && from !== null && from !== undefined)
      want(service.spec.name, from);
  }
  for (const task of tasks) want(task.service, task.revision);
  const nodes = cluster.list().map(
    (node): PassNode => ({
      id: node.id,
      status: node.status,
      availability: node.availability,
      labels: labelsOf(node),
      address: node.registration.address,
      cpuMillicores: node.registration.cpu_millicores,
      memoryBytes: node.registration.memory_bytes,
      features: node.features,
      liveness: livenessFor(
        sources.liveness,
        sources.baseHeartbeatIntervalMs,
        node.heartbeatIntervalMs ?? sources.baseHeartbeatIntervalMs,
      ),
      connected: node.link !== undefined,
      lastSeen: node.lastSeen,
      downNotBefore: node.downNotBefore,
      probedDown: node.probedDown,
      sentAssignment: node.lastAssignment,
      sentEndpoints: node.lastEndpoints,
      sentPrepared: node.lastPrepared,
      endpointsAcked: node.endpointsAcked,
      ...(sources.sendingEndpoints?.(node.id) ? { sending: true } : {}),
      pulls: node.pulls,
      pullsAsked: node.pullsAsked,
      images: sources.images?.presence(node.id),
    }),
  );
  return {
    services,
    tasks,
    ...(store.placementVersion !== undefined ? { placementVersion: store.placementVersion } : {}),
    specs,
    allocations: store.listAllocations(),
    policy: readPolicy(store),
    networkCount: sources.networkCount,
    nodes,
    memory: sources.memory,
    liveness: sources.liveness,
    addressHoldMs: sources.addressHoldMs,
    ...(sources.pullParallelism !== undefined ? { pullParallelism: sources.pullParallelism } : {}),
    volumes: volumePlaces(store),
  };
}
