/**
 * One controller pass as a pure function: a snapshot in (pass-snapshot.ts), everything the pass
 * decides out, as data. The applier (apply-pass.ts) writes it in one transaction and sends it.
 *
 * In order, each step seeing what the earlier ones decided:
 *  1. Liveness: each node's status from its liveness inputs (node-liveness.ts).
 *  2. A down node's replicas are written off (shut down, their observation cleared), so their
 *     slots are filled elsewhere; a node that returns is sent an assignment without them.
 *  3. Each service's reconciler plan (create, shut down, forget), and how its rollout ends; a
 *     rollback skips the service's plan and asks for another pass. A steady service (one current
 *     replica per slot, no rollout under way) is skipped: its plan would be empty. A rollout to a
 *     new image first runs its pull phase (reconciler/pre-pull.ts): the nodes it may run on are
 *     asked to pull, and no outdated replica is replaced until they have the image; a failed
 *     phase fails (or rolls back) the rollout with nothing stopped.
 *  4. The scheduler places every replica meant to run that has no node.
 *  5. A silent node's replicas are prepared elsewhere (prepare-plan.ts): where each would go,
 *     created there but not started; when the node is called down (step 2), each prepared one
 *     becomes its slot's replacement, placed where it waits, and is only started.
 *  6. Each connected node whose assignment changed gets its complete desired set, and each whose
 *     prepared set changed gets that (`prepare`).
 *  7. Every host gets every service's serving replicas when they changed (endpoints.ts): those
 *     changed since it was last sent, or the whole set on a new connection.
 *  8. Addresses no task and no service uses return to the pool once it is safe (address-release.ts).
 *
 * Same snapshot, same `now`, same ids: same plan, whatever order the rows were read in (tasks
 * are taken in service, slot, creation and id order; services and nodes by name).
 */
import { MAX_SERVICES } from '../model/addressing.ts';
import { parseDurationMs } from '../model/duration.ts';
import type { EventInput } from '../model/event.ts';
import { slotName } from '../model/names.ts';
import type { NodeStatus } from '../model/node.ts';
import type { PullPhase, Rollout } from '../model/rollout.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { DesiredState, Task, TaskRecord } from '../model/task.ts';
import { replicaVolumes } from '../model/volume-spec.ts';
import type { ServiceAdmission } from '../policy/admission-policy.ts';
import { admissionFor } from '../policy/admission-policy.ts';
import { FEATURES, requiredFeatures } from '../protocol/features.ts';
import type { BackendsPatch, NetworkRef, ServiceEndpoints, TaskSpec } from '../protocol/messages.ts';
import { type GlobalNode, globalSlots } from '../reconciler/global-slots.ts';
import { PULL_DEADLINE_MS, PULL_PARALLELISM, samePhase, stepPrePull } from '../reconciler/pre-pull.ts';
import { isServing, isSteady, reconcileService } from '../reconciler/service-reconciler.ts';
import { parseConstraint, satisfies } from '../scheduler/constraints.ts';
import { demandOf } from '../scheduler/resources.ts';
import type { NodeSnapshot, PlacementRequest } from '../scheduler/scheduler.ts';
import { schedule } from '../scheduler/scheduler.ts';
import { volumePin } from '../scheduler/volume-pinning.ts';
import { AllocationExhaustedError } from '../store/errors.ts';
import { sameRecords } from '../store/same-records.ts';
import type { StoredService } from '../store/store.ts';
import type { Allocation, AllocationKind } from './address-release.ts';
import { planRelease } from './address-release.ts';
import { allocationsByNode } from './allocation.ts';
import type { EndpointNode } from './endpoints.ts';
import { endpointsOf, readyById } from './endpoints.ts';
import { latestDeltaBytes, publishService, serviceDelta } from './endpoints-history.ts';
import { downAt, groupDownAt, livenessStatus } from './node-liveness.ts';
import { quietUntil } from './pass-quiet.ts';
import type {
  AssignedFrom,
  AssignmentKeyMemory,
  EndpointsMemory,
  PassMemory,
  PassNode,
  PassSnapshot,
  PublishedEndpoints,
  ServiceEndpointsMemory,
  SteadyFrom,
} from './pass-snapshot.ts';
import { specKey } from './pass-snapshot.ts';
import type { Preparation, PrepareCandidate } from './prepare-plan.ts';
import { planPreparations, preparedAsTasks } from './prepare-plan.ts';
import { TaskOverlay } from './task-overlay.ts';

/** Endpoint sets that only add or refresh backends go out at most this often (removals at once). */
export const ENDPOINTS_MIN_INTERVAL_MS = 100;
/** What the server may spend sending endpoint sets, all nodes together (bytes a second). */
export const ENDPOINTS_BYTES_PER_S = 100 * 1024 * 1024;

/**
 * Endpoints messages the server may send a second, all nodes together: each is a TLS record
 * written, and read by an agent. As heartbeats do (node-liveness.ts), the pace of backend changes
 * slows as the cluster grows: every 100 ms up to 400 nodes, every 250 ms at 1,000.
 */
export const ENDPOINTS_MESSAGES_PER_S = 4000;

/**
 * The pace of non-urgent endpoint changes: at least ENDPOINTS_MIN_INTERVAL_MS, longer when what
 * they cost to send, all nodes together (`sendBytes`: a delta to each node that takes deltas, the
 * whole set to others), would exceed ENDPOINTS_BYTES_PER_S, or when one message to each of
 * `recipients` nodes would exceed ENDPOINTS_MESSAGES_PER_S. The whole set to 1,000 nodes at
 * 10,000 replicas (1.3 MB each) makes one every 12 s; a delta of a few services, every 100 ms.
 */
export function endpointsIntervalMs(sendBytes: number, recipients = 0): number {
  return Math.max(
    ENDPOINTS_MIN_INTERVAL_MS,
    Math.ceil((sendBytes * 1000) / ENDPOINTS_BYTES_PER_S),
    Math.ceil((recipients * 1000) / ENDPOINTS_MESSAGES_PER_S),
  );
}

/** How long a node where a service's replicas failed is avoided for that service. */
export const FAILURE_MEMORY_MS = 5 * 60_000;

export interface StatusChange {
  readonly id: string;
  readonly from: NodeStatus;
  readonly to: NodeStatus;
}

/** A task's fields that changed; absent ones stay as they are. */
export interface TaskUpdate {
  readonly id: string;
  readonly placement?: { readonly nodeId: string | null; readonly pendingReason: string | null };
  readonly desiredState?: DesiredState;
  /** Its container is written off with its node: the observation goes. */
  readonly clearObserved?: true;
}

export interface RolloutWrite {
  readonly service: string;
  readonly rollout: Rollout;
  /** Set when the service returns to this revision (an automatic rollback). */
  readonly revertTo: number | null;
}

export interface AssignmentSend {
  readonly nodeId: string;
  readonly generation: number;
  /** What the node's session keeps, to tell the next change. */
  readonly key: string;
  readonly tasks: readonly TaskSpec[];
}

/** The replicas a node should hold prepared (created, not started): its whole set (protocol `prepare`). */
export interface PrepareSend {
  readonly nodeId: string;
  /** What the node's session keeps, to tell the next change ('' for none). */
  readonly key: string;
  readonly tasks: readonly TaskSpec[];
}

/** An agent asked to pull an image for a rollout's pull phase (protocol `image.pull`). */
export interface PullRequestSend {
  readonly nodeId: string;
  readonly requestId: string;
  readonly service: string;
  readonly image: string;
}

/** What changed since `base`, for the nodes last sent `base` (`endpoints.delta`). */
export interface EndpointsDeltaSend {
  readonly base: number;
  /** Services added or changed since `base`, each whole. */
  readonly services: readonly ServiceEndpoints[];
  /** Services removed since `base`. */
  readonly removed: readonly string[];
  /** Undefined: unchanged since `base`. */
  readonly peers: readonly string[] | undefined;
  /**
   * Services whose backends alone changed since `base`, for nodes whose agents take patches
   * (`endpoints-backend-delta`); absent or empty for others, who get such services whole.
   */
  readonly patched?: readonly BackendsPatch[];
  readonly nodeIds: readonly string[];
}

export interface EndpointsSend {
  readonly generation: number;
  /** The whole set, for `nodeIds` (empty when there are none). */
  readonly services: readonly ServiceEndpoints[];
  /** Every known node's address (the sources allowed at node-to-node published ports). */
  readonly peers: readonly string[];
  /**
   * Connected nodes that have not been sent this generation and get the whole set: a new
   * connection, or an agent without `endpoints-delta`.
   */
  readonly nodeIds: readonly string[];
  /** The others, by the generation they were last sent. */
  readonly deltas: readonly EndpointsDeltaSend[];
}

export interface PassPlan {
  readonly statusChanges: readonly StatusChange[];
  readonly insert: readonly Task[];
  readonly update: readonly TaskUpdate[];
  /** Task rows to delete: shut down, and their containers gone. */
  readonly forget: readonly string[];
  readonly rollouts: readonly RolloutWrite[];
  /** Events, in the order they happened; all at `now`. */
  readonly events: readonly EventInput[];
  /** Indices allocated in this pass (a service or network that had none). */
  readonly allocate: readonly Allocation[];
  /** Indices returned to the pool. */
  readonly release: readonly Allocation[];
  readonly assignments: readonly AssignmentSend[];
  /** Prepared sets that changed, sent after the assignments (an agent sees a replica assigned before it stops being prepared). */
  readonly prepares: readonly PrepareSend[];
  /** Pull requests of rollouts' pull phases, sent with the assignments. */
  readonly pulls: readonly PullRequestSend[];
  readonly endpoints: EndpointsSend | undefined;
  readonly memory: PassMemory;
  /** A pass right after this one has more to do (a rollback was decided). */
  readonly again: boolean;
  /**
   * Until when (epoch ms, exclusive) a pass on the same inputs would decide nothing (pass-quiet.ts):
   * `now` when this one did something, or something it read waits on time.
   */
  readonly quietUntil: number;
  /**
   * When the first unreachable nodes turn down by time alone (epoch ms, node-liveness.ts
   * `groupDownAt`: those whose graces end together, at the last of them), absent when none is
   * unreachable: the controller runs a pass then, not at its tick.
   */
  readonly downAt?: number;
}

export function planPass(snapshot: PassSnapshot, now: number, newTaskId: () => string): PassPlan {
  const plan = new PassBuilder(snapshot, now, newTaskId);
  plan.checkLiveness();
  plan.evacuateDownNodes();
  plan.reconcileServices();
  plan.placeReplicas();
  plan.prepareFailover();
  plan.assign();
  plan.publishEndpoints();
  plan.releaseAddresses();
  return plan.result();
}

function byName<T>(name: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
}

function sameSteadyFrom(last: SteadyFrom, now: SteadyFrom): boolean {
  return (
    last.placementVersion === now.placementVersion &&
    last.draining === now.draining &&
    sameRecords(last.services, now.services)
  );
}

function taskOrder(a: TaskRecord, b: TaskRecord): number {
  if (a.service !== b.service) return a.service < b.service ? -1 : 1;
  return a.slot - b.slot || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A service's pull phase as one pass sees it (PassBuilder `#pullPhase`). */
interface PullHold {
  readonly hold: boolean;
  readonly failure: string | null;
  readonly rollout: Rollout;
  readonly changed: boolean;
}

/** The pass's working state: the snapshot as the steps so far have changed it. */
class PassBuilder {
  readonly #snapshot: PassSnapshot;
  readonly #now: number;
  readonly #newTaskId: () => string;
  readonly #services: StoredService[];
  /** Every task as decided so far, in the snapshot's order (each step sorts what it needs). */
  readonly #tasks: TaskOverlay;
  readonly #inserted = new Set<string>();
  readonly #forgotten = new Set<string>();
  readonly #nodes: PassNode[];
  readonly #statusChanges: StatusChange[] = [];
  readonly #events: EventInput[] = [];
  readonly #rollouts: RolloutWrite[] = [];
  readonly #failures = new Map<string, Map<string, number>>();
  readonly #indices = { network: new Map<string, number>(), service: new Map<string, number>() };
  readonly #allocated: Allocation[] = [];
  #release: readonly Allocation[] = [];
  #releases: PassMemory['releases'];
  #assignGeneration: number;
  #endpointsGeneration: number;
  #endpointsMemory: EndpointsMemory | undefined;
  #endpointsPublishedAt: number;
  readonly #assignments: AssignmentSend[] = [];
  readonly #pulls: PullRequestSend[] = [];
  readonly #prepares: PrepareSend[] = [];
  /** Replacements prepared for silent nodes' replicas, by the replica's id (prepare-plan.ts). */
  #preparations: Map<string, Preparation>;
  #assignmentKeys: ReadonlyMap<string, AssignmentKeyMemory> | undefined;
  #assignedFrom: AssignedFrom | undefined;
  #steadyFrom: SteadyFrom | undefined;
  #endpoints: EndpointsSend | undefined;
  #again = false;
  /** When each unreachable node turns down by time alone (`downAt`). */
  readonly #downAts: number[] = [];
  /** A step read something that changes with time alone: the next pass cannot be skipped. */
  #timeBound = false;

  constructor(snapshot: PassSnapshot, now: number, newTaskId: () => string) {
    this.#snapshot = snapshot;
    this.#now = now;
    this.#newTaskId = newTaskId;
    this.#services = [...snapshot.services].sort(byName((s) => s.spec.name));
    // Not sorted whole (10,000 tasks a pass): each step sorts the few it needs in order.
    this.#tasks = new TaskOverlay(snapshot.tasks);
    this.#nodes = [...snapshot.nodes].sort(byName((n) => n.id));
    const cutoff = now - FAILURE_MEMORY_MS;
    for (const [service, nodes] of snapshot.memory.failures) {
      const kept = new Map([...nodes].filter(([, at]) => at >= cutoff));
      if (kept.size > 0) this.#failures.set(service, kept);
    }
    for (const allocation of snapshot.allocations)
      this.#indices[allocation.kind].set(allocation.name, allocation.index);
    this.#releases = snapshot.memory.releases;
    this.#assignGeneration = snapshot.memory.assignGeneration;
    this.#endpointsGeneration = snapshot.memory.endpointsGeneration;
    this.#endpointsMemory = snapshot.memory.endpoints;
    this.#endpointsPublishedAt = snapshot.memory.endpointsPublishedAt;
    this.#preparations = new Map(snapshot.memory.preparations ?? []);
  }

  #event(event: EventInput): void {
    this.#events.push(event);
  }

  #update(id: string, change: Partial<TaskRecord>): void {
    const task = this.#tasks.get(id);
    if (task) this.#tasks.set({ ...task, ...change });
  }

  #rememberFailure(service: string, nodeId: string): void {
    const nodes = this.#failures.get(service) ?? new Map<string, number>();
    nodes.set(nodeId, this.#now);
    this.#failures.set(service, nodes);
  }

  #specOf(service: string, revision: number): ServiceSpec | undefined {
    return this.#snapshot.specs.get(specKey(service, revision));
  }

  checkLiveness(): void {
    this.#nodes.forEach((node, i) => {
      const { liveness } = node;
      const status = livenessStatus(node, this.#now, liveness);
      // Only for an unreachable node (downAt works its status out again): not every node, every pass.
      const down = status === 'unreachable' ? downAt(node, this.#now, liveness) : undefined;
      if (down !== undefined) this.#downAts.push(down);
      if (status === node.status) return;
      this.#statusChanges.push({ id: node.id, from: node.status, to: status });
      // A node back from silence gets its whole assignment and endpoints again.
      const forgetSent = status !== 'ready';
      this.#nodes[i] = {
        ...node,
        status,
        sentAssignment: forgetSent ? undefined : node.sentAssignment,
        sentEndpoints: forgetSent ? undefined : node.sentEndpoints,
      };
      const message =
        status === 'down'
          ? node.probedDown
            ? `Node ${node.id} is down (silent, and its replicas answer no other node): its replicas are rescheduled`
            : `Node ${node.id} is down (silent for ${(node.connected ? (liveness.silentDownAfterMs ?? liveness.downAfterMs) : liveness.downAfterMs) / 1000}s): its replicas are rescheduled`
          : status === 'unreachable'
            ? `Node ${node.id} is unreachable (no heartbeat for ${liveness.heartbeatTimeoutMs / 1000}s)`
            : `Node ${node.id} is ready (heartbeats resumed)`;
      this.#event({ type: 'node', service: null, container: null, node: node.id, message });
    });
  }

  evacuateDownNodes(): void {
    const down = new Set(this.#nodes.filter((n) => n.status === 'down').map((n) => n.id));
    if (down.size === 0) return;
    const stranded = this.#tasks
      .values()
      .filter((t) => t.nodeId !== null && down.has(t.nodeId))
      .sort(taskOrder);
    // By id, not a search per replica: 100 nodes down at once strand 1,000 of them.
    const nodes = new Map(this.#nodes.map((n) => [n.id, n]));
    const services = new Map(this.#services.map((s) => [s.spec.name, s]));
    for (const task of stranded) {
      if (task.nodeId === null) continue;
      if (task.desiredState === 'shutdown' && task.observed === null) continue;
      if (task.desiredState === 'running') {
        const name = slotName(task.service, task.slot);
        const service = services.get(task.service);
        const prepared = this.#preparedReplacement(task, nodes, service);
        this.#event({
          type: 'schedule',
          service: task.service,
          container: name,
          node: task.nodeId,
          message:
            service?.spec.mode === 'global'
              ? `Stopping ${name}: node ${task.nodeId} is down (a global service runs on each node, not elsewhere)`
              : prepared
                ? `Rescheduling ${name}: node ${task.nodeId} is down; starting its replacement prepared on ${prepared.nodeId}`
                : `Rescheduling ${name}: node ${task.nodeId} is down`,
        });
        this.#rememberFailure(task.service, task.nodeId);
        if (prepared) {
          // The slot's replacement, where it waits created: the reconciler sees the slot filled.
          this.#tasks.set({
            id: prepared.taskId,
            service: prepared.service,
            slot: prepared.slot,
            revision: prepared.revision,
            nodeId: prepared.nodeId,
            desiredState: 'running',
            pendingReason: null,
            createdAt: this.#now,
            observed: null,
          });
          this.#inserted.add(prepared.taskId);
        }
      }
      this.#update(task.id, { desiredState: 'shutdown', observed: null });
    }
  }

  /**
   * The replacement prepared for a replica of a node just called down, taken out of the
   * preparations; undefined when there is none, or it can no longer be used (its target is not
   * ready and connected, or the service moved on to another revision).
   */
  #preparedReplacement(
    task: TaskRecord,
    nodes: ReadonlyMap<string, PassNode>,
    service: StoredService | undefined,
  ): Preparation | undefined {
    const prepared = this.#preparations.get(task.id);
    if (!prepared) return undefined;
    this.#preparations.delete(task.id);
    const target = nodes.get(prepared.nodeId);
    const usable =
      target?.status === 'ready' &&
      target.connected &&
      target.availability === 'active' &&
      service?.revision === prepared.revision &&
      this.#tasks.get(prepared.taskId) === undefined;
    return usable ? prepared : undefined;
  }

  reconcileServices(): void {
    const from = this.#steadyFromNow();
    const last = this.#snapshot.memory.steadyFrom;
    if (from && last && sameSteadyFrom(last, from)) {
      // Every service was steady, and nothing isSteady reads has changed (not the time, not
      // observed state): no walk over the task table.
      this.#steadyFrom = last;
      return;
    }
    let allSteady = true;
    const services = new Map(this.#services.map((s) => [s.spec.name, s]));
    const byService = new Map<string, TaskRecord[]>();
    for (const task of this.#tasks.values()) {
      const list = byService.get(task.service) ?? [];
      list.push(task);
      byService.set(task.service, list);
    }
    for (const list of byService.values()) list.sort(taskOrder);
    const names = [...new Set([...services.keys(), ...byService.keys()])].sort();
    const draining = new Set(this.#nodes.filter((n) => n.availability === 'draining').map((n) => n.id));
    for (const name of names) {
      const service = services.get(name);
      const tasks = byService.get(name) ?? [];
      const global = service?.spec.mode === 'global';
      const input = {
        service: name,
        desired: service ? { spec: service.spec, revision: service.revision } : undefined,
        tasks,
        drainingNodes: draining,
        // A global service's slots follow the nodes it may run on (the pass's inputs, not the time).
        ...(global && service ? { slotNodes: globalSlots(this.#globalNodes(service.spec), tasks) } : {}),
      };
      // Most services, most passes: one replica of the current revision per slot, nothing to do.
      if (service?.rollout?.state !== 'in_progress' && isSteady(input)) continue;
      allSteady = false;
      // The reconciler's plan may depend on the time (rollout pacing, healthy deadlines).
      this.#timeBound = true;
      const pull = service ? this.#pullPhase(service) : undefined;
      const plan = reconcileService({
        ...input,
        holdReplacements: pull?.hold ?? false,
        now: this.#now,
        newTaskId: this.#newTaskId,
      });
      const failure =
        typeof pull?.failure === 'string' && service
          ? { reason: pull.failure, rollbackTo: this.#pullRollbackTarget(service, tasks) }
          : plan.failure;
      if (service) {
        const rollout = pull?.rollout ?? service.rollout;
        const writes = this.#rollouts.length;
        if (this.#settleRollout(service, rollout, failure, plan.complete)) continue;
        // The phase moved on but the rollout goes on: its record says how far.
        if (pull?.changed && rollout && this.#rollouts.length === writes)
          this.#rollouts.push({ service: name, rollout, revertTo: null });
      }
      for (const task of plan.create) {
        this.#tasks.set({ ...task, observed: null });
        this.#inserted.add(task.id);
      }
      for (const id of plan.shutdown) {
        const nodeId = this.#tasks.get(id)?.nodeId;
        if (nodeId && draining.has(nodeId)) this.#rememberFailure(name, nodeId);
        this.#update(id, { desiredState: 'shutdown' });
      }
      for (const id of plan.forget) {
        this.#tasks.delete(id);
        this.#forgotten.add(id);
      }
    }
    this.#steadyFrom = allSteady ? from : undefined;
  }

  /**
   * What isSteady reads, when the store counts placements, no step before changed one, and no
   * service is global (its slots follow the nodes' eligibility): the service records, the
   * placements and the draining nodes.
   */
  #steadyFromNow(): SteadyFrom | undefined {
    const version = this.#snapshot.placementVersion;
    if (version === undefined || this.#tasks.placementsChanged()) return undefined;
    if (this.#services.some((s) => s.spec.mode === 'global')) return undefined;
    const draining = this.#nodes
      .filter((n) => n.availability === 'draining')
      .map((n) => n.id)
      .join(',');
    return { placementVersion: version, services: this.#services, draining };
  }

  /**
   * Records how the service's rollout ended. Returns true when it rolled back: the plan was made
   * for the abandoned revision, so the next pass plans again for the restored one.
   */
  #settleRollout(
    service: StoredService,
    rollout: Rollout | null,
    failure: { readonly reason: string; readonly rollbackTo: number | null } | null,
    complete: boolean,
  ): boolean {
    if (rollout?.state !== 'in_progress') return false;
    const name = service.spec.name;
    const finishedAt = new Date(this.#now).toISOString();
    const record = (message: string) =>
      this.#event({ type: 'rollout', service: name, container: null, node: null, message });
    if (failure) {
      const { reason, rollbackTo } = failure;
      if (rollbackTo === null) {
        this.#rollouts.push({
          service: name,
          rollout: { ...rollout, state: 'failed', finished_at: finishedAt, message: reason },
          revertTo: null,
        });
        record(`Rollout of ${name} to revision ${rollout.to_revision} failed: ${reason}`);
        return false;
      }
      this.#rollouts.push({
        service: name,
        rollout: { ...rollout, state: 'rolled_back', finished_at: finishedAt, message: reason },
        revertTo: rollbackTo,
      });
      record(
        `Rollout of ${name} to revision ${rollout.to_revision} failed: ${reason}; rolled back to revision ${rollbackTo}`,
      );
      this.#again = true;
      return true;
    }
    if (complete) {
      this.#rollouts.push({
        service: name,
        rollout: { ...rollout, state: 'complete', finished_at: finishedAt },
        revertTo: null,
      });
      if (rollout.from_revision !== null)
        record(`Rollout of ${name} to revision ${rollout.to_revision} complete`);
    }
    return false;
  }

  /**
   * The service's pull phase this pass (reconciler/pre-pull.ts), when its rollout has one: a
   * rollout in progress to an image other than the one it started from, on a service that
   * pre-pulls. `hold` keeps its outdated replicas in place (also after the phase failed, until a
   * fix or an undo starts another rollout); `changed` says the rollout record needs a write.
   */
  #pullPhase(service: StoredService): PullHold | undefined {
    const { rollout, spec } = service;
    if (!rollout || rollout.to_revision !== service.revision) return undefined;
    if (rollout.state !== 'in_progress') {
      // Finished: a failed phase still holds what it protected.
      return rollout.pull
        ? { hold: rollout.pull.state !== 'done', failure: null, rollout, changed: false }
        : undefined;
    }
    if (rollout.from_revision === null || spec.update.pre_pull === false) return undefined;
    if (rollout.pull === undefined) {
      const from = this.#specOf(spec.name, rollout.from_revision);
      if (!from || from.image === spec.image) return undefined;
    }
    const requestId = `${spec.name}/${rollout.to_revision}/${rollout.started_at}`;
    const step = stepPrePull({
      image: spec.image,
      phase: rollout.pull,
      targets: this.#pullTargets(spec).map((node) => ({
        id: node.id,
        canPull: node.features.has(FEATURES.prePull),
        asked: node.pullsAsked.has(requestId),
        observed: node.pulls.get(requestId),
      })),
      maxParallel: this.#snapshot.pullParallelism ?? PULL_PARALLELISM,
      deadlineMs: parseDurationMs(spec.update.pull_deadline ?? '') ?? PULL_DEADLINE_MS,
      now: this.#now,
    });
    for (const nodeId of step.ask)
      this.#pulls.push({ nodeId, requestId, service: spec.name, image: spec.image });
    this.#pullEvents(spec.name, rollout.pull, step.phase);
    return {
      hold: step.phase.state !== 'done',
      failure: step.failure,
      rollout: { ...rollout, pull: step.phase },
      changed: !samePhase(rollout.pull, step.phase),
    };
  }

  /**
   * Where a failed pull phase rolls back to (auto_rollback): the newest revision the service's
   * replicas still run, as a failed replacement does (after a rollout that failed, that may be
   * older than the rollout's own `from_revision`); null when none runs or auto_rollback is off.
   */
  #pullRollbackTarget(service: StoredService, tasks: readonly TaskRecord[]): number | null {
    if (!service.spec.update.auto_rollback) return null;
    const running = tasks.filter((t) => t.desiredState === 'running' && t.revision !== service.revision);
    return running.length === 0 ? null : Math.max(...running.map((t) => t.revision));
  }

  /** The nodes a new revision may be placed on, and can be asked now: ready, connected, eligible. */
  #pullTargets(spec: ServiceSpec): PassNode[] {
    const eligible = new Set(
      this.#globalNodes(spec)
        .filter((n) => n.eligible)
        .map((n) => n.id),
    );
    return this.#nodes.filter((n) => n.status === 'ready' && n.connected && eligible.has(n.id));
  }

  #pullEvents(service: string, before: PullPhase | undefined, after: PullPhase): void {
    const record = (message: string) =>
      this.#event({ type: 'rollout', service, container: null, node: null, message });
    if (before === undefined) {
      const asked = after.nodes.filter((n) => n.state !== 'skipped').length;
      record(
        `Pulling image ${after.image} on ${asked} node${asked === 1 ? '' : 's'} before replacing replicas of ${service}`,
      );
    }
    if (after.state === 'done' && before?.state !== 'done') {
      const pulled = after.nodes.filter((n) => n.state === 'pulled').length;
      const skipped = after.nodes.length - pulled;
      const seconds =
        (Date.parse(after.finished_at ?? after.started_at) - Date.parse(after.started_at)) / 1000;
      record(
        `Image ${after.image} is on ${pulled} node${pulled === 1 ? '' : 's'}${skipped > 0 ? ` (${skipped} will pull at start)` : ''} after ${seconds.toFixed(1)}s: replacing replicas of ${service}`,
      );
    }
  }

  /** The nodes a global service runs on: not down, active, matching its constraints and features. */
  #globalNodes(spec: ServiceSpec): GlobalNode[] {
    const constraints = spec.placement.constraints.map(parseConstraint);
    const features = requiredFeatures(spec);
    return this.#nodes.map((node) => ({
      id: node.id,
      eligible:
        node.status !== 'down' &&
        node.availability === 'active' &&
        constraints.every((c) => satisfies(node, c)) &&
        features.every((f) => node.features.has(f)),
    }));
  }

  placeReplicas(): void {
    const tasks = this.#tasks.values();
    const unplaced = tasks.filter((t) => t.desiredState === 'running' && t.nodeId === null).sort(taskOrder);
    if (unplaced.length === 0) return;
    // Placement reads more than the pass's inputs say (image locality, failures that expire).
    this.#timeBound = true;
    const current = new Map(this.#services.map((s) => [s.spec.name, s.spec]));
    const requests: PlacementRequest[] = [];
    const history = this.#slotHistory(tasks, new Set(unplaced.map((t) => t.service)));
    const places = this.#snapshot.volumes ?? { located: new Map(), moves: new Map() };
    for (const task of unplaced) {
      const spec = this.#specOf(task.service, task.revision) ?? current.get(task.service);
      if (!spec) continue;
      const pin = spec.volumes?.length
        ? volumePin({
            spec,
            slot: task.slot,
            located: places.located,
            moves: places.moves,
            slotHistory: history.get(`${task.service}/${task.slot}`) ?? [],
          })
        : undefined;
      requests.push(this.#placementRequest(task, spec, current, pin));
    }
    // Pinned replicas have one node to go to: placed first, so the others see them there and spread
    // around them rather than take the room they need.
    requests.sort((x, y) => (x.pin ? 0 : 1) - (y.pin ? 0 : 1));
    // What is prepared for a silent node's replicas holds its room on its target.
    const nodes = this.#nodeSnapshots([...tasks, ...preparedAsTasks(this.#preparations.values(), this.#now)]);
    const byId = new Map(unplaced.map((t) => [t.id, t]));
    for (const placement of schedule(nodes, requests)) {
      const task = byId.get(placement.taskId);
      if (!task) continue;
      const name = slotName(task.service, task.slot);
      if (placement.placed) {
        this.#update(task.id, { nodeId: placement.nodeId, pendingReason: null });
        this.#event({
          type: 'schedule',
          service: task.service,
          container: name,
          node: placement.nodeId,
          message: `Scheduled ${name} on ${placement.nodeId}${placement.locality ? ` (${placement.locality})` : ''}`,
        });
      } else if (task.pendingReason !== placement.reason) {
        this.#update(task.id, { pendingReason: placement.reason });
        this.#event({
          type: 'schedule',
          service: task.service,
          container: name,
          node: null,
          message: `Replica ${name} is pending: ${placement.reason}`,
        });
      }
    }
  }

  #placementRequest(
    task: TaskRecord,
    spec: ServiceSpec,
    current: ReadonlyMap<string, ServiceSpec>,
    pin?: PlacementRequest['pin'],
  ): PlacementRequest {
    return {
      taskId: task.id,
      service: task.service,
      // The service's current count: scaling changes it without writing a new revision.
      desiredReplicas: current.get(task.service)?.replicas ?? spec.replicas,
      demand: demandOf(spec.resources),
      ports: spec.ports,
      constraints: spec.placement.constraints.map(parseConstraint),
      strategy: spec.placement.strategy,
      penalizedNodes: new Set(this.#failures.get(task.service)?.keys() ?? []),
      requiredFeatures: requiredFeatures(spec),
      ...(spec.placement.max_replicas_per_node !== undefined
        ? { maxPerNode: spec.placement.max_replicas_per_node }
        : {}),
      image: spec.image,
      ...(pin ? { pin } : {}),
    };
  }

  /** The nodes as the scheduler sees them, holding what `tasks` hold. */
  #nodeSnapshots(tasks: readonly TaskRecord[]): NodeSnapshot[] {
    const held = allocationsByNode(tasks, (t) => this.#specOf(t.service, t.revision));
    return this.#nodes.map((node): NodeSnapshot => {
      const allocation = held.get(node.id);
      return {
        id: node.id,
        status: node.status,
        schedulable: node.availability === 'active',
        labels: node.labels,
        cpuMillicores: node.cpuMillicores,
        memoryBytes: node.memoryBytes,
        allocatedCpuMillicores: allocation?.cpuMillicores ?? 0,
        allocatedMemoryBytes: allocation?.memoryBytes ?? 0,
        usedHostPorts: allocation?.hostPorts ?? new Set(),
        serviceCounts: allocation?.serviceCounts ?? new Map(),
        features: node.features,
        images: node.images,
      };
    });
  }

  /**
   * Where a silent node's replicas would go (prepare-plan.ts), kept where they were prepared while
   * they stay valid. Nothing to do, and no cost, while no node is silent and nothing is prepared.
   */
  prepareFailover(): void {
    const silent = new Set(this.#nodes.filter((n) => n.status === 'unreachable').map((n) => n.id));
    if (silent.size === 0 && this.#preparations.size === 0) return;
    const tasks = this.#tasks.values();
    const candidates: PrepareCandidate[] = [];
    if (silent.size > 0) {
      const services = new Map(this.#services.map((s) => [s.spec.name, s]));
      const current = new Map(this.#services.map((s) => [s.spec.name, s.spec]));
      const onSilent = tasks
        .filter((t) => t.nodeId !== null && silent.has(t.nodeId) && t.desiredState === 'running')
        .sort(taskOrder);
      for (const task of onSilent) {
        const spec = this.#specOf(task.service, task.revision);
        const service = services.get(task.service);
        if (!spec || !service) continue;
        candidates.push({
          task,
          spec,
          // During a rollout too: a current replica's replacement is the same whatever the rollout
          // does (its outdated ones are the reconciler's to replace, with the new revision).
          current: service.revision === task.revision,
          request: this.#placementRequest(task, spec, current),
        });
      }
    }
    const canPrepare = new Set(
      this.#nodes
        .filter(
          (n) =>
            n.status === 'ready' &&
            n.connected &&
            n.availability === 'active' &&
            n.features.has(FEATURES.preparedReplicas),
        )
        .map((n) => n.id),
    );
    this.#preparations = planPreparations({
      nodes: () => this.#nodeSnapshots(tasks),
      canPrepare,
      candidates,
      previous: this.#preparations,
      newTaskId: this.#newTaskId,
    });
  }

  /**
   * Per `service/slot`, the placed replicas that ran (a container was seen) and mount named
   * volumes, newest first, with those volumes' names: where a slot's volume is before its node
   * reports it (volume-pinning.ts). Only for `services` (those with a replica to place).
   */
  #slotHistory(
    tasks: readonly TaskRecord[],
    services: ReadonlySet<string>,
  ): Map<string, { nodeId: string; volumes: ReadonlySet<string> }[]> {
    const history = new Map<string, { nodeId: string; volumes: ReadonlySet<string>; at: number }[]>();
    for (const task of tasks) {
      if (!services.has(task.service)) continue;
      if (task.nodeId === null || task.observed === null || task.observed.container_id === null) continue;
      const spec = this.#specOf(task.service, task.revision);
      if (!spec?.volumes?.length) continue;
      const names = new Set(replicaVolumes(spec, task.slot).map((v) => v.name));
      if (names.size === 0) continue;
      const key = `${task.service}/${task.slot}`;
      const list = history.get(key) ?? [];
      list.push({ nodeId: task.nodeId, volumes: names, at: task.createdAt });
      history.set(key, list);
    }
    for (const list of history.values()) list.sort((a, b) => b.at - a.at);
    return history;
  }

  /** The index of a network or service, allocated (the lowest free one) when it has none. */
  #index(kind: AllocationKind, name: string): number {
    const known = this.#indices[kind];
    const index = known.get(name);
    if (index !== undefined) return index;
    const [first, last] = kind === 'network' ? [0, this.#snapshot.networkCount - 1] : [1, MAX_SERVICES];
    const taken = new Set(known.values());
    for (let candidate = first; candidate <= last; candidate++) {
      if (taken.has(candidate)) continue;
      known.set(name, candidate);
      this.#allocated.push({ kind, name, index: candidate });
      return candidate;
    }
    throw new AllocationExhaustedError(kind, last - first + 1);
  }

  #networkRefs(spec: ServiceSpec): NetworkRef[] {
    return spec.networks.map((name) => ({ name, index: this.#index('network', name) }));
  }

  /**
   * A node's assignment is known by its tasks' ids, network indices and admissions: a task's spec
   * is its revision's, which never changes, so equal keys mean equal messages (a policy change
   * changes the key). Only a node whose key changed is sent anything; its TaskSpecs are built only
   * then. Secret values are not part of the plan: the applier attaches them when sending.
   */
  assign(): void {
    type Entry = {
      task: TaskRecord;
      spec: ServiceSpec;
      networks: NetworkRef[];
      admission: ServiceAdmission;
      key: string;
    };
    // Per spec, not per task: a service's replicas share their revision's networks and admission.
    const refs = new Map<ServiceSpec, { networks: NetworkRef[]; admission: ServiceAdmission; key: string }>();
    const refOf = (spec: ServiceSpec, service: string) => {
      let ref = refs.get(spec);
      if (!ref) {
        const networks = this.#networkRefs(spec);
        const admission = admissionFor(this.#snapshot.policy, service);
        ref = {
          networks,
          admission,
          key: `${networks.map((n) => n.index).join('.')}@${admission.mode}:${admission.allow.join('+')}`,
        };
        refs.set(spec, ref);
      }
      return ref;
    };
    const from = this.#assignedFromNow();
    this.#assignedFrom = from;
    if (from && this.#sentAsLastAssigned(from)) {
      // Nothing an assignment is made of changed, and every node holds its last: nothing to send,
      // and no walk over the task table (under churn, reports change observed state only).
      this.#assignmentKeys = this.#snapshot.memory.assignmentKeys;
      this.#prepareSets(refOf);
      return;
    }
    const onNode = new Map<string, Entry[]>();
    for (const task of this.#tasks.values()) {
      if (task.nodeId === null || task.desiredState !== 'running') continue;
      const spec = this.#specOf(task.service, task.revision);
      if (!spec) continue;
      const ref = refOf(spec, task.service);
      const list = onNode.get(task.nodeId) ?? [];
      list.push({ task, spec, networks: ref.networks, admission: ref.admission, key: ref.key });
      onNode.set(task.nodeId, list);
    }
    const keys = new Map<string, AssignmentKeyMemory>();
    const lastKeys = this.#snapshot.memory.assignmentKeys;
    for (const node of this.#nodes) {
      if (!node.connected) continue;
      // Sorted per node (a few tasks each), not the whole table.
      const entries = (onNode.get(node.id) ?? []).sort((a, b) => taskOrder(a.task, b.task));
      // The same tasks (a task's service, slot and revision never change) with the same
      // references as last pass: the same key, without building it again.
      const memo = lastKeys?.get(node.id);
      const same =
        memo !== undefined &&
        memo.taskIds.length === entries.length &&
        entries.every((e, i) => e.task.id === memo.taskIds[i] && e.key === memo.refKeys[i]);
      const key = same ? memo.key : entries.map(({ task, key }) => `${task.id}@${key}`).join(',');
      keys.set(
        node.id,
        same ? memo : { taskIds: entries.map((e) => e.task.id), refKeys: entries.map((e) => e.key), key },
      );
      if (key === node.sentAssignment) continue;
      this.#assignments.push({
        nodeId: node.id,
        generation: ++this.#assignGeneration,
        key,
        tasks: entries.map(({ task, spec, networks, admission }) => ({
          task_id: task.id,
          service: task.service,
          slot: task.slot,
          revision: task.revision,
          spec,
          networks,
          admission,
        })),
      });
    }
    this.#assignmentKeys = keys;
    this.#prepareSets(refOf);
  }

  /** What this pass's assignments are made of, when the store counts its placements. */
  #assignedFromNow(): AssignedFrom | undefined {
    const version = this.#snapshot.placementVersion;
    if (version === undefined || this.#tasks.placementsChanged()) return undefined;
    const networks = [...this.#indices.network].map(([name, index]) => `${name}=${index}`).join(',');
    return { placementVersion: version, refs: `${JSON.stringify(this.#snapshot.policy)}|${networks}` };
  }

  /**
   * The last pass's assignments were made of the same (`from`), and each node connected now was
   * connected then and holds the key computed for it: this pass would compute the same keys.
   */
  #sentAsLastAssigned(from: AssignedFrom): boolean {
    const last = this.#snapshot.memory.assignedFrom;
    const keys = this.#snapshot.memory.assignmentKeys;
    if (!last || !keys || last.placementVersion !== from.placementVersion || last.refs !== from.refs)
      return false;
    let connected = 0;
    for (const node of this.#nodes) {
      if (!node.connected) continue;
      connected++;
      const key = keys.get(node.id)?.key;
      if (key === undefined || key !== node.sentAssignment) return false;
    }
    return connected === keys.size;
  }

  /** Each node that can prepare and whose prepared set changed since its link was last sent one. */
  #prepareSets(
    refOf: (
      spec: ServiceSpec,
      service: string,
    ) => { networks: NetworkRef[]; admission: ServiceAdmission; key: string },
  ): void {
    const byNode = new Map<string, Preparation[]>();
    for (const prepared of this.#preparations.values())
      byNode.set(prepared.nodeId, [...(byNode.get(prepared.nodeId) ?? []), prepared]);
    for (const node of this.#nodes) {
      if (!node.connected || !node.features.has(FEATURES.preparedReplicas)) continue;
      const entries = (byNode.get(node.id) ?? [])
        .sort((a, b) => (a.taskId < b.taskId ? -1 : 1))
        .flatMap((prepared) => {
          const spec = this.#specOf(prepared.service, prepared.revision);
          return spec ? [{ prepared, spec, ref: refOf(spec, prepared.service) }] : [];
        });
      const key = entries.map(({ prepared, ref }) => `${prepared.taskId}@${ref.key}`).join(',');
      // A link that was sent nothing holds nothing prepared (its agent clears them at welcome).
      if (key === (node.sentPrepared ?? '')) continue;
      this.#prepares.push({
        nodeId: node.id,
        key,
        tasks: entries.map(({ prepared, spec, ref }) => ({
          task_id: prepared.taskId,
          service: prepared.service,
          slot: prepared.slot,
          revision: prepared.revision,
          spec,
          networks: ref.networks,
          admission: ref.admission,
        })),
      });
    }
  }

  /**
   * A service's endpoints are recomputed (and serialised, to tell a change) only when its record,
   * its serving tasks' records or the ready nodes changed since the last pass: at 10,000
   * replicas, serialising them all costs more than the rest of an idle pass. A node whose agent
   * takes deltas is sent only the services changed since the generation it was last sent over its
   * connection (the connection keeps order, so that is the set the agent holds when the delta
   * arrives); a new connection, or an agent without `endpoints-delta`, the whole set.
   */
  publishEndpoints(): void {
    // A node the server knew before it started, not back yet, still inside the startup grace,
    // serves what it last reported: its containers most likely run on while its agent reconnects,
    // and leaving it out would take its replicas out of every proxy (and a VIP whose replicas all
    // sit there would refuse connections) for the seconds it takes every agent to come back.
    const endpointNodes = this.#nodes.map((n) =>
      n.status === 'unreachable' && !n.connected && this.#now < n.downNotBefore
        ? { ...n, status: 'ready' as const }
        : n,
    );
    const readyNodes = endpointNodes
      .filter((n) => n.status === 'ready')
      .map((n) => `${n.id}=${n.address}`)
      .join(',');
    const last = this.#endpointsMemory;
    const previous = last?.readyNodes === readyNodes ? last : undefined;
    const serving = new Map<string, TaskRecord[]>();
    for (const task of this.#tasks.values()) {
      if (task.desiredState !== 'running' || !isServing(task)) continue;
      const list = serving.get(task.service) ?? [];
      list.push(task);
      serving.set(task.service, list);
    }
    // Computed sets are remembered every pass (so an unchanged service is not recomputed); the
    // set last published, and whether a computed change still waits, are remembered beside them.
    const services = new Map<string, ServiceEndpointsMemory>();
    // A backend told to stop (or a service gone) must leave every proxy before its container
    // stops: such a change goes out at once. Others (a replica joining, one that died, a node
    // lost) wait out `endpointsIntervalMs` after the last set, which grows with what a set costs
    // to send to every node.
    const names = new Set(this.#services.map((s) => s.spec.name));
    let urgent = last === undefined || [...last.published.keys()].some((name) => !names.has(name));
    // A node that joins (or moves) must be let through every other node's published ports at
    // once, or its proxies are refused there until the next paced send.
    const peers = [...new Set(this.#nodes.map((n) => n.address))].sort();
    const peersChanged = last !== undefined && last.peers.join(',') !== peers.join(',');
    if (peersChanged) urgent = true;
    let ready: ReadonlyMap<string, EndpointNode> | undefined;
    for (const service of this.#services) {
      const name = service.spec.name;
      const tasks = (serving.get(name) ?? []).sort(taskOrder);
      const vipIndex = this.#index('service', name);
      const networks = this.#networkRefs(service.spec);
      const networksKey = networks.map((n) => `${n.name}=${n.index}`).join(',');
      const known = previous?.services.get(name);
      // Serving the same records as last time, none of them was told to stop since.
      const lastServing = last?.services.get(name)?.serving;
      const told =
        lastServing !== undefined &&
        !sameRecords(lastServing, tasks) &&
        lastServing.some((t) => this.#tasks.get(t.id)?.desiredState !== 'running');
      if (told) urgent = true;
      if (
        known &&
        known.service === service &&
        known.vipIndex === vipIndex &&
        known.networks === networksKey &&
        sameRecords(known.serving, tasks)
      ) {
        services.set(name, known);
        continue;
      }
      ready ??= readyById(endpointNodes);
      const entry = endpointsOf({ service, vipIndex, networks }, tasks, ready);
      const text = JSON.stringify(entry);
      // The same text as before is the same string: later comparisons are by reference.
      services.set(name, {
        service,
        serving: tasks,
        vipIndex,
        networks: networksKey,
        entry: known?.text === text ? known.entry : entry,
        text: known?.text === text ? known.text : text,
      });
    }
    const lastPublished = last?.published ?? new Map<string, PublishedEndpoints>();
    const changedNames = [...services].filter(([name, s]) => lastPublished.get(name)?.text !== s.text);
    const removedNames = [...lastPublished.keys()].filter((name) => !services.has(name));
    const changed = last === undefined || changedNames.length > 0 || removedNames.length > 0 || peersChanged;
    const deltasSince = this.#deltasSince(last);
    const takesDelta = (node: PassNode, generation: number) =>
      node.features.has(FEATURES.endpointsDelta) &&
      node.sentEndpoints !== undefined &&
      node.sentEndpoints >= deltasSince &&
      node.sentEndpoints <= generation;
    const takesPatches = (node: PassNode) => node.features.has(FEATURES.endpointsBackendDelta);
    // The changed services as they would be published next, with what changed in their backends.
    const nextGeneration = this.#endpointsGeneration + 1;
    const candidates = new Map(
      changedNames.map(([name, s]) => [
        name,
        publishService(lastPublished.get(name), s.entry, s.text, nextGeneration, deltasSince),
      ]),
    );
    // What the change costs to send: its delta to nodes that take deltas (only the changed
    // backends to those that take patches), the whole set to others.
    const fullBytes = [...services.values()].reduce((sum, s) => sum + s.text.length, 0);
    const otherBytes =
      removedNames.reduce((sum, name) => sum + name.length + 3, 0) +
      (peersChanged ? peers.join('","').length : 0);
    let wholeServiceBytes = otherBytes;
    let patchBytes = otherBytes;
    for (const candidate of candidates.values()) {
      wholeServiceBytes += latestDeltaBytes(candidate, false);
      patchBytes += latestDeltaBytes(candidate, true);
    }
    let sendBytes = 0;
    let recipients = 0;
    for (const node of this.#nodes) {
      if (!node.connected) continue;
      recipients++;
      if (!takesDelta(node, this.#endpointsGeneration)) sendBytes += fullBytes;
      else sendBytes += takesPatches(node) ? patchBytes : wholeServiceBytes;
    }
    const deferred =
      changed &&
      !urgent &&
      this.#now - this.#endpointsPublishedAt < endpointsIntervalMs(sendBytes, recipients);
    let published = lastPublished;
    let removed = last?.removed ?? new Map<string, number>();
    let publishedPeers = last?.peers ?? peers;
    let peersGeneration = last?.peersGeneration ?? this.#endpointsGeneration;
    if (changed && !deferred) {
      const generation = ++this.#endpointsGeneration;
      this.#endpointsPublishedAt = this.#now;
      const next = new Map<string, PublishedEndpoints>();
      const tombstones = new Map(removed);
      for (const [name, s] of services) {
        const before = lastPublished.get(name);
        next.set(
          name,
          candidates.get(name) ??
            before ??
            publishService(undefined, s.entry, s.text, generation, deltasSince),
        );
        tombstones.delete(name);
      }
      for (const name of removedNames) tombstones.set(name, generation);
      if (last === undefined || peersChanged) {
        publishedPeers = peers;
        peersGeneration = generation;
      }
      published = next;
      removed = tombstones;
    }
    const generation = this.#endpointsGeneration;
    // Tombstones no node can still need: every connected node taking deltas was sent this one or later.
    if ([...removed.values()].some((at) => at <= deltasSince))
      removed = new Map([...removed].filter(([, at]) => at > deltasSince));
    // Deferred: the last published set stays current, and nodes that have not had it yet (a new
    // connection) get it; a later pass publishes the change.
    this.#endpointsMemory = {
      readyNodes,
      services,
      published,
      removed,
      deltasSince,
      peers: publishedPeers,
      peersGeneration,
      pending: deferred,
    };
    const whole: string[] = [];
    // Nodes that take deltas, by the generation they hold and whether they take patches.
    const byBase = new Map<string, { base: number; patches: boolean; nodeIds: string[] }>();
    for (const node of this.#nodes) {
      // A node whose last message still waits is planned the next once it is written.
      if (!node.connected || node.sentEndpoints === generation || node.sending) continue;
      if (!takesDelta(node, generation) || node.sentEndpoints === undefined) {
        whole.push(node.id);
        continue;
      }
      const patches = takesPatches(node);
      const key = `${node.sentEndpoints}:${patches}`;
      const group = byBase.get(key) ?? { base: node.sentEndpoints, patches, nodeIds: [] };
      group.nodeIds.push(node.id);
      byBase.set(key, group);
    }
    if (whole.length === 0 && byBase.size === 0) return;
    const deltas = [...byBase.values()]
      .sort((a, b) => a.base - b.base || Number(a.patches) - Number(b.patches))
      .map(({ base, patches, nodeIds }): EndpointsDeltaSend => {
        const changedServices: ServiceEndpoints[] = [];
        const patched: BackendsPatch[] = [];
        for (const p of published.values()) {
          const delta = serviceDelta(p, base, patches);
          if (delta.kind === 'whole') changedServices.push(delta.entry);
          else if (delta.kind === 'patch') patched.push(delta.patch);
        }
        return {
          base,
          services: changedServices,
          removed: [...removed].filter(([, at]) => at > base).map(([name]) => name),
          peers: peersGeneration > base ? publishedPeers : undefined,
          ...(patched.length > 0 ? { patched } : {}),
          nodeIds,
        };
      });
    this.#endpoints = {
      generation,
      services: whole.length > 0 ? [...published.values()].map((p) => p.entry) : [],
      peers: publishedPeers,
      nodeIds: whole,
      deltas,
    };
  }

  /**
   * The oldest generation a delta can start from: the oldest that a connected node taking
   * deltas was last sent (it needs the removals since), never older than before.
   */
  #deltasSince(last: EndpointsMemory | undefined): number {
    // A fresh memory (a start, or leading again) knows nothing of what was sent before it, nor
    // what was removed since: nodes sent an older generation get the whole set.
    if (last === undefined) return this.#endpointsGeneration;
    let since = this.#endpointsGeneration;
    for (const node of this.#nodes) {
      const sent = node.sentEndpoints;
      if (node.connected && node.features.has(FEATURES.endpointsDelta) && sent !== undefined && sent < since)
        since = sent;
    }
    return Math.max(since, last.deltasSince);
  }

  releaseAddresses(): void {
    const names = new Set(this.#services.map((s) => s.spec.name));
    const servicesInUse = new Set(names);
    // Replicas of a deleted service may still sit on their networks, whose names went with its
    // revisions: until they are gone, no network is freed.
    let orphans = false;
    for (const task of this.#tasks.values()) {
      if (names.has(task.service)) continue;
      servicesInUse.add(task.service);
      orphans = true;
    }
    const networksInUse = new Set(this.#services.flatMap((s) => s.spec.networks));
    const allocations = [...this.#snapshot.allocations, ...this.#allocated].filter(
      (a) => a.kind === 'service' || !orphans,
    );
    const acknowledged = this.#nodes
      .filter((node) => node.connected)
      .map((node) => (node.features.has(FEATURES.endpointsAck) ? node.endpointsAcked : undefined));
    const released = planRelease({
      allocations,
      networksInUse,
      servicesInUse,
      pending: this.#releases,
      generation: this.#endpointsGeneration,
      acknowledged,
      now: this.#now,
      holdMs: this.#snapshot.addressHoldMs,
    });
    this.#releases = released.pending;
    this.#release = released.release;
  }

  result(): PassPlan {
    const plan = this.#plan();
    return { ...plan, quietUntil: quietUntil(plan, this.#nodes, this.#timeBound, this.#now) };
  }

  #plan(): Omit<PassPlan, 'quietUntil'> {
    const insert: Task[] = [];
    const update: TaskUpdate[] = [];
    for (const id of this.#inserted) {
      const task = this.#tasks.get(id);
      if (!task) continue;
      const { observed: _observed, ...row } = task;
      insert.push(row);
    }
    for (const [id, before, after] of this.#tasks.changed()) {
      if (!after) continue;
      const moved = after.nodeId !== before.nodeId || after.pendingReason !== before.pendingReason;
      const change: TaskUpdate = {
        id,
        ...(moved ? { placement: { nodeId: after.nodeId, pendingReason: after.pendingReason } } : {}),
        ...(after.desiredState !== before.desiredState ? { desiredState: after.desiredState } : {}),
        ...(after.observed === null && before.observed !== null ? { clearObserved: true as const } : {}),
      };
      if (Object.keys(change).length > 1) update.push(change);
    }
    const order = (id: string) => this.#tasks.get(id) ?? this.#tasks.original(id);
    const byTask = (a: string, b: string) => {
      const x = order(a);
      const y = order(b);
      return x && y ? taskOrder(x, y) : a < b ? -1 : 1;
    };
    update.sort((a, b) => byTask(a.id, b.id));
    return {
      statusChanges: this.#statusChanges,
      insert,
      update,
      forget: [...this.#forgotten].filter((id) => this.#tasks.original(id) !== undefined).sort(byTask),
      rollouts: this.#rollouts,
      events: this.#events,
      allocate: this.#allocated,
      release: this.#release,
      assignments: this.#assignments,
      prepares: this.#prepares,
      pulls: this.#pulls,
      endpoints: this.#endpoints,
      memory: {
        failures: this.#failures,
        releases: this.#releases,
        assignGeneration: this.#assignGeneration,
        assignmentKeys: this.#assignmentKeys ?? this.#snapshot.memory.assignmentKeys,
        ...(this.#assignedFrom ? { assignedFrom: this.#assignedFrom } : {}),
        ...(this.#steadyFrom ? { steadyFrom: this.#steadyFrom } : {}),
        endpointsGeneration: this.#endpointsGeneration,
        endpoints: this.#endpointsMemory,
        endpointsPublishedAt: this.#endpointsPublishedAt,
        preparations: this.#preparations,
      },
      again: this.#again,
      ...(this.#downAts.length > 0 ? { downAt: groupDownAt(this.#downAts) } : {}),
    };
  }
}
