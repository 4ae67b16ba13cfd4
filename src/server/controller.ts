/**
 * The controller: level-triggered reconciliation of the whole cluster. Each pass re-reads the
 * store, asks the service reconciler what each service needs, asks the scheduler where new
 * replicas go, writes the plan, then sends every connected node its complete desired set when
 * it changed. Triggers are coalesced; a periodic tick retries what waits on time or room.
 */
import { randomUUID } from 'node:crypto';
import type { AddressPool } from '../model/addressing.ts';
import { MAX_SERVICES } from '../model/addressing.ts';
import { slotName } from '../model/names.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { TaskObservation } from '../model/task.ts';
import { DEFAULT_TTL_SECONDS } from '../net/dns/dns-answer.ts';
import { admissionFor } from '../policy/admission-policy.ts';
import { readPolicy } from '../policy/policy-store.ts';
import { FEATURES, requiredFeatures } from '../protocol/features.ts';
import type { AgentMessage, NetworkRef, SecretFile, TaskSpec } from '../protocol/messages.ts';
import type { ServicePlan } from '../reconciler/service-reconciler.ts';
import { reconcileService } from '../reconciler/service-reconciler.ts';
import { parseConstraint } from '../scheduler/constraints.ts';
import { demandOf } from '../scheduler/resources.ts';
import type { NodeSnapshot, PlacementRequest } from '../scheduler/scheduler.ts';
import { schedule } from '../scheduler/scheduler.ts';
import { secretFiles } from '../secrets/secret-refs.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { Store, StoredService, StoredTask } from '../store/store.ts';
import type { PendingRelease } from './address-release.ts';
import { planRelease } from './address-release.ts';
import { allocationOf } from './allocation.ts';
import type { Cluster } from './cluster.ts';
import { labelsOf } from './cluster.ts';
import { serviceEndpoints } from './endpoints.ts';
import type { EventLog } from './event-log.ts';
import type { LivenessSettings } from './node-liveness.ts';

type Report = Extract<AgentMessage, { type: 'report' }>;

export interface ControllerOptions {
  readonly store: Store;
  readonly cluster: Cluster;
  readonly events: EventLog;
  readonly liveness: LivenessSettings;
  /** The cluster's address pool: how many networks there can be. */
  readonly addressPool: AddressPool;
  readonly now: () => number;
  readonly log: (message: string) => void;
  /** How long a freed address waits after every agent acknowledged its removal: one DNS TTL. */
  readonly addressHoldMs?: number;
  /** Told how long each pass took (ms), for benchmarks; nothing is timed without it. */
  readonly onPass?: (durationMs: number) => void;
  /** Where the values of the secrets and configs tasks refer to come from; none: no files are sent. */
  readonly secrets?: SecretStore;
}

/** How long a node where a service's replicas failed is avoided for that service. */
const FAILURE_MEMORY_MS = 5 * 60_000;

export class Controller {
  readonly #options: ControllerOptions;
  #scheduled = false;
  #generation: number;
  #tick: NodeJS.Timeout | undefined;
  readonly #revisionSpecs = new Map<string, ServiceSpec>();
  readonly #allocations = { network: new Map<string, number>(), service: new Map<string, number>() };
  /** service → node → when a replica of it was lost there. */
  readonly #failures = new Map<string, Map<string, number>>();
  #endpointsGeneration: number;
  #endpointsText: string | undefined;
  /** Addresses no longer used, on their way back to the pool (address-release.ts). */
  #releases = new Map<string, PendingRelease>();

  constructor(options: ControllerOptions) {
    this.#options = options;
    // Generations only grow, across server restarts too.
    this.#generation = options.now();
    this.#endpointsGeneration = options.now();
  }

  start(tickMs = 250): void {
    this.#tick = setInterval(() => this.trigger(), tickMs);
    this.trigger();
  }

  stop(): void {
    clearInterval(this.#tick);
  }

  /** Asks for a pass soon; many triggers in one turn of the event loop make one pass. */
  trigger(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      try {
        this.sync();
      } catch (error) {
        this.#options.log(
          `reconcile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      }
    });
  }

  /** One full pass. Synchronous: SQLite is, and so is every decision. */
  sync(): void {
    const { store, onPass } = this.#options;
    const startedAt = onPass ? performance.now() : 0;
    this.#checkLiveness();
    store.transaction(() => {
      this.#evacuateDownNodes();
      this.#reconcileServices();
      this.#placeReplicas();
    });
    this.#pushAssignments();
    this.#pushEndpoints();
    this.#releaseAddresses();
    onPass?.(performance.now() - startedAt);
  }

  /** Returns to the pool the addresses every agent has stopped using (see address-release.ts). */
  #releaseAddresses(): void {
    const { store, cluster, now } = this.#options;
    const services = store.listServices();
    const tasks = store.listTasks();
    const names = new Set(services.map((s) => s.spec.name));
    const servicesInUse = new Set([...names, ...tasks.map((t) => t.service)]);
    const networksInUse = new Set(services.flatMap((s) => s.spec.networks));
    // Replicas of a deleted service may still sit on their networks, whose names went with its
    // revisions: until they are gone, no network is freed.
    const orphans = tasks.some((t) => !names.has(t.service));
    const allocations = store.listAllocations().filter((a) => a.kind === 'service' || !orphans);
    const acknowledged = cluster
      .list()
      .filter((node) => node.link !== undefined)
      .map((node) => (node.features.has(FEATURES.endpointsAck) ? node.endpointsAcked : undefined));
    const plan = planRelease({
      allocations,
      networksInUse,
      servicesInUse,
      pending: this.#releases,
      generation: this.#endpointsGeneration,
      acknowledged,
      now: now(),
      holdMs: this.#options.addressHoldMs ?? DEFAULT_TTL_SECONDS * 1000,
    });
    this.#releases = plan.pending;
    for (const allocation of plan.release) {
      store.releaseAllocation(allocation.kind, allocation.name);
      this.#allocations[allocation.kind].delete(allocation.name);
    }
  }

  /** Every host gets every service's serving replicas; only a change is sent. */
  #pushEndpoints(): void {
    const { store, cluster } = this.#options;
    const nodes = cluster.list();
    const services = store.listServices().map((service) => ({
      service,
      vipIndex: this.#allocate('service', service.spec.name),
      networks: this.#networkRefs(service.spec),
    }));
    const endpoints = serviceEndpoints(services, store.listTasks(), nodes);
    const text = JSON.stringify(endpoints);
    if (text !== this.#endpointsText) {
      this.#endpointsText = text;
      this.#endpointsGeneration++;
    }
    for (const node of nodes) {
      if (!node.link || node.lastEndpoints === text) continue;
      node.lastEndpoints = text;
      node.link.send({ type: 'endpoints', generation: this.#endpointsGeneration, services: endpoints });
    }
  }

  #checkLiveness(): void {
    const { cluster, events, liveness, now } = this.#options;
    for (const change of cluster.tick(now(), liveness)) {
      const message =
        change.to === 'down'
          ? `Node ${change.id} is down (silent for ${liveness.downAfterMs / 1000}s): its replicas are rescheduled`
          : change.to === 'unreachable'
            ? `Node ${change.id} is unreachable (no heartbeat for ${liveness.heartbeatTimeoutMs / 1000}s)`
            : `Node ${change.id} is ready (heartbeats resumed)`;
      events.append({ type: 'node', service: null, container: null, node: change.id, message }, now());
    }
  }

  /**
   * A down node's replicas are written off: shut down and forgotten, so their slots are filled
   * elsewhere. If the node returns, its agent is sent an assignment without them and stops them.
   */
  #evacuateDownNodes(): void {
    const { store, cluster, events, now } = this.#options;
    const down = new Set(
      cluster
        .list()
        .filter((n) => n.status === 'down')
        .map((n) => n.id),
    );
    if (down.size === 0) return;
    for (const task of store.listTasks()) {
      if (task.nodeId === null || !down.has(task.nodeId)) continue;
      if (task.desiredState === 'shutdown' && task.observed === null) continue;
      if (task.desiredState === 'running') {
        const name = slotName(task.service, task.slot);
        events.append(
          {
            type: 'schedule',
            service: task.service,
            container: name,
            node: task.nodeId,
            message: `Rescheduling ${name}: node ${task.nodeId} is down`,
          },
          now(),
        );
        this.#rememberFailure(task.service, task.nodeId);
      }
      store.setDesiredState(task.id, 'shutdown');
      store.setObserved(task.id, null);
    }
  }

  #rememberFailure(service: string, nodeId: string): void {
    const nodes = this.#failures.get(service) ?? new Map<string, number>();
    nodes.set(nodeId, this.#options.now());
    this.#failures.set(service, nodes);
  }

  #penalizedNodes(service: string): Set<string> {
    const cutoff = this.#options.now() - FAILURE_MEMORY_MS;
    const nodes = this.#failures.get(service);
    const recent = new Set<string>();
    for (const [nodeId, at] of nodes ?? []) {
      if (at >= cutoff) recent.add(nodeId);
      else nodes?.delete(nodeId);
    }
    return recent;
  }

  #reconcileServices(): void {
    const { store, now } = this.#options;
    const services = new Map(store.listServices().map((s) => [s.spec.name, s]));
    const tasksByService = groupBy(store.listTasks(), (t) => t.service);
    const names = new Set([...services.keys(), ...tasksByService.keys()]);
    const drainingNodes = new Set(
      this.#options.cluster
        .list()
        .filter((n) => n.availability === 'draining')
        .map((n) => n.id),
    );
    for (const name of names) {
      const service = services.get(name);
      const plan = reconcileService({
        service: name,
        desired: service ? { spec: service.spec, revision: service.revision } : undefined,
        tasks: tasksByService.get(name) ?? [],
        drainingNodes,
        now: now(),
        newTaskId: () => randomUUID().replaceAll('-', ''),
      });
      if (service && this.#settleRollout(service, plan)) continue;
      for (const task of plan.create) store.insertTask(task);
      for (const id of plan.shutdown) {
        const task = tasksByService.get(name)?.find((t) => t.id === id);
        if (task?.nodeId && drainingNodes.has(task.nodeId)) this.#rememberFailure(name, task.nodeId);
        store.setDesiredState(id, 'shutdown');
      }
      for (const id of plan.forget) store.deleteTask(id);
    }
  }

  /**
   * Records how the service's rollout ended. Returns true when it rolled back: the plan was made
   * for the abandoned revision, so the next pass plans again for the restored one.
   */
  #settleRollout(service: StoredService, plan: ServicePlan): boolean {
    const { store, events, now } = this.#options;
    const rollout = service.rollout;
    if (rollout?.state !== 'in_progress') return false;
    const name = service.spec.name;
    const finishedAt = new Date(now()).toISOString();
    const record = (message: string) =>
      events.append({ type: 'rollout', service: name, container: null, node: null, message }, now());
    if (plan.failure) {
      const { reason, rollbackTo } = plan.failure;
      if (rollbackTo === null) {
        store.setRollout(name, { ...rollout, state: 'failed', finished_at: finishedAt, message: reason });
        record(`Rollout of ${name} to revision ${rollout.to_revision} failed: ${reason}`);
        return false;
      }
      const rolledBack = {
        ...rollout,
        state: 'rolled_back' as const,
        finished_at: finishedAt,
        message: reason,
      };
      store.revertService(name, rollbackTo, rolledBack, now());
      record(
        `Rollout of ${name} to revision ${rollout.to_revision} failed: ${reason}; rolled back to revision ${rollbackTo}`,
      );
      this.trigger();
      return true;
    }
    if (plan.complete) {
      store.setRollout(name, { ...rollout, state: 'complete', finished_at: finishedAt });
      if (rollout.from_revision !== null)
        record(`Rollout of ${name} to revision ${rollout.to_revision} complete`);
    }
    return false;
  }

  #placeReplicas(): void {
    const { store, events, now } = this.#options;
    const tasks = store.listTasks();
    const unplaced = tasks.filter((t) => t.desiredState === 'running' && t.nodeId === null);
    if (unplaced.length === 0) return;
    const specs = new Map(store.listServices().map((s) => [s.spec.name, s.spec]));
    const requests: PlacementRequest[] = [];
    for (const task of unplaced) {
      const spec = this.#specOf(task.service, task.revision) ?? specs.get(task.service);
      if (!spec) continue;
      requests.push({
        taskId: task.id,
        service: task.service,
        // The service's current count: scaling changes it without writing a new revision.
        desiredReplicas: specs.get(task.service)?.replicas ?? spec.replicas,
        demand: demandOf(spec.resources),
        ports: spec.ports,
        constraints: spec.placement.constraints.map(parseConstraint),
        strategy: spec.placement.strategy,
        penalizedNodes: this.#penalizedNodes(task.service),
        requiredFeatures: requiredFeatures(spec),
      });
    }
    const placements = schedule(this.#snapshot(tasks), requests);
    const byId = new Map(unplaced.map((t) => [t.id, t]));
    for (const placement of placements) {
      const task = byId.get(placement.taskId);
      if (!task) continue;
      const name = slotName(task.service, task.slot);
      if (placement.placed) {
        store.placeTask(task.id, placement.nodeId, null);
        events.append(
          {
            type: 'schedule',
            service: task.service,
            container: name,
            node: placement.nodeId,
            message: `Scheduled ${name} on ${placement.nodeId}`,
          },
          now(),
        );
      } else if (task.pendingReason !== placement.reason) {
        store.placeTask(task.id, null, placement.reason);
        events.append(
          {
            type: 'schedule',
            service: task.service,
            container: name,
            node: null,
            message: `Replica ${name} is pending: ${placement.reason}`,
          },
          now(),
        );
      }
    }
  }

  #snapshot(tasks: readonly StoredTask[]): NodeSnapshot[] {
    return this.#options.cluster.list().map((node) => {
      const allocation = allocationOf(node.id, tasks, (t) => this.#specOf(t.service, t.revision));
      return {
        id: node.id,
        status: node.status,
        schedulable: node.availability === 'active',
        labels: labelsOf(node),
        cpuMillicores: node.registration.cpu_millicores,
        memoryBytes: node.registration.memory_bytes,
        allocatedCpuMillicores: allocation.cpuMillicores,
        allocatedMemoryBytes: allocation.memoryBytes,
        usedHostPorts: allocation.hostPorts,
        serviceCounts: allocation.serviceCounts,
        features: node.features,
      };
    });
  }

  /**
   * A service created anew under a deleted one's name numbers its revisions from 1 again: the
   * cached specs of the old incarnation must go before they are taken for the new one's.
   */
  forgetService(name: string): void {
    for (const key of this.#revisionSpecs.keys()) {
      if (key.startsWith(`${name}\u0000`)) this.#revisionSpecs.delete(key);
    }
  }

  /** Revision specs never change once written (a service deleted and created again aside). */
  specOf(service: string, revision: number): ServiceSpec | undefined {
    return this.#specOf(service, revision);
  }

  /** The network's index, allocated on first use: every host derives the same addresses from it. */
  #networkRefs(spec: ServiceSpec): NetworkRef[] {
    return spec.networks.map((name) => ({ name, index: this.#allocate('network', name) }));
  }

  /**
   * Allocations never change once made, so they are remembered here: a pass (four a second)
   * must not open a write transaction per service just to read an index it already knows.
   */
  #allocate(kind: 'network' | 'service', name: string): number {
    const known = this.#allocations[kind];
    let index = known.get(name);
    if (index === undefined) {
      index =
        kind === 'network'
          ? this.#options.store.allocate(kind, name, 0, this.#options.addressPool.networkCount - 1)
          : this.#options.store.allocate(kind, name, 1, MAX_SERVICES);
      known.set(name, index);
    }
    return index;
  }

  #pushAssignments(): void {
    const tasks = this.#options.store.listTasks();
    const policy = readPolicy(this.#options.store);
    for (const node of this.#options.cluster.list()) {
      if (!node.link) continue;
      const desired: TaskSpec[] = [];
      for (const task of tasks) {
        if (task.nodeId !== node.id || task.desiredState !== 'running') continue;
        const spec = this.#specOf(task.service, task.revision);
        if (spec)
          desired.push({
            task_id: task.id,
            service: task.service,
            slot: task.slot,
            revision: task.revision,
            spec,
            networks: this.#networkRefs(spec),
            admission: admissionFor(policy, task.service),
            ...this.#secretFilesOf(spec),
          });
      }
      const text = JSON.stringify(desired);
      if (text === node.lastAssignment) continue;
      node.lastAssignment = text;
      node.link.send({ type: 'assign', generation: ++this.#generation, tasks: desired });
    }
  }

  /** Only tasks that use secrets or configs carry files, and only to the node that runs them. */
  #secretFilesOf(spec: ServiceSpec): { secret_files?: SecretFile[] } {
    const { secrets } = this.#options;
    if (!secrets || (!spec.secrets?.length && !spec.configs?.length)) return {};
    return { secret_files: secretFiles(secrets, spec) };
  }

  #specOf(service: string, revision: number): ServiceSpec | undefined {
    const key = `${service}\u0000${revision}`;
    let spec = this.#revisionSpecs.get(key);
    if (!spec) {
      spec = this.#options.store.getRevision(service, revision);
      if (spec) this.#revisionSpecs.set(key, spec);
    }
    return spec;
  }

  /** Takes an agent's report: observed state of its tasks, and the events it recorded. */
  applyReport(nodeId: string, report: Report): void {
    const { store, events } = this.#options;
    store.transaction(() => {
      const mine = new Map(
        store
          .listTasks()
          .filter((t) => t.nodeId === nodeId)
          .map((t) => [t.id, t]),
      );
      const seen = new Set<string>();
      for (const observation of report.tasks) {
        seen.add(observation.task_id);
        const task = mine.get(observation.task_id);
        if (task && !sameObservation(task.observed, observation)) store.setObserved(task.id, observation);
      }
      const gone = report.full
        ? [...mine.values()].filter((t) => !seen.has(t.id)).map((t) => t.id)
        : report.removed;
      for (const id of gone) if (mine.get(id)?.observed) store.setObserved(id, null);
      for (const event of report.events) {
        const { at, ...input } = event;
        events.append({ ...input, node: nodeId }, at);
      }
    });
    this.trigger();
  }
}

function sameObservation(a: TaskObservation | null, b: TaskObservation): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k) ?? [];
    list.push(item);
    groups.set(k, list);
  }
  return groups;
}
