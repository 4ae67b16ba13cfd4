/**
 * The pass's thin edge: writes a plan (plan-pass.ts) in one transaction, then (once the store has
 * committed it) sends each node what changed for it, and records on its session what it was sent. Secret and config values are
 * attached here, at sending, to the tasks whose specs use them: the plan never holds them, and a
 * node is sent only the values of the replicas it runs.
 */
import { MAX_SERVICES } from '../model/addressing.ts';
import { registryOf } from '../model/image-parts.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import type { RegistryCredentialStore } from '../registry/credential-store.ts';
import { registryAuthHeader } from '../registry/registry-auth.ts';
import { secretFiles } from '../secrets/secret-refs.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { Store } from '../store/store.ts';
import type { Cluster } from './cluster.ts';
import type { EndpointsDelivery, EndpointsOutbox } from './endpoints-outbox.ts';
import type { EventLog } from './event-log.ts';
import type { EndpointsSend, PassPlan } from './plan-pass.ts';

/**
 * Unsent bytes on a node's connection above which it is sent no endpoints this pass (skipped
 * until it drains): any at all, since a socket that has not taken the last message would only
 * queue one the next delta makes obsolete.
 */
export const ENDPOINTS_BACKLOG_BYTES = 0;

export interface ApplyTargets {
  readonly store: Store;
  readonly cluster: Cluster;
  readonly events: EventLog;
  /** How many networks the cluster's address pool holds. */
  readonly networkCount: number;
  /** Where the values of the secrets and configs tasks refer to come from; none: no files are sent. */
  readonly secrets?: SecretStore;
  /** Registry credentials: a task whose image's registry has one carries its X-Registry-Auth. */
  readonly registries?: RegistryCredentialStore | undefined;
  /** Where endpoints go to be sent a slice at a time (endpoints-outbox.ts); absent: all at once. */
  readonly outbox?: EndpointsOutbox | undefined;
}

/** The plan was made against state that has changed since: a caller bug (passes are synchronous). */
export class StalePlanError extends Error {
  override readonly name = 'StalePlanError';
}

/** Writes and sends a plan at once: for a store whose writes are durable when made (SQLite). */
export function applyPass(plan: PassPlan, targets: ApplyTargets, now: number): void {
  writePass(plan, targets, now);
  sendPass(plan, targets);
}

/**
 * The plan's writes, in one transaction (on etcd: one etcd transaction, whose outcome
 * `store.durable()` tells). Node status changes are the server's memory and take effect at once.
 */
export function writePass(plan: PassPlan, targets: ApplyTargets, now: number): void {
  const { store, cluster, events, networkCount } = targets;
  for (const change of plan.statusChanges) cluster.setStatus(change.id, change.to);
  store.transaction(() => {
    for (const allocation of plan.allocate) {
      const [first, last] = allocation.kind === 'network' ? [0, networkCount - 1] : [1, MAX_SERVICES];
      const index = store.allocate(allocation.kind, allocation.name, first, last);
      if (index !== allocation.index)
        throw new StalePlanError(
          `${allocation.kind} ${allocation.name}: planned ${allocation.index}, got ${index}`,
        );
    }
    for (const task of plan.insert) store.insertTask(task);
    for (const change of plan.update) {
      if (change.placement)
        store.placeTask(change.id, change.placement.nodeId, change.placement.pendingReason);
      if (change.desiredState) store.setDesiredState(change.id, change.desiredState);
      if (change.clearObserved) store.setObserved(change.id, null);
    }
    for (const id of plan.forget) store.deleteTask(id);
    for (const write of plan.rollouts) {
      if (write.revertTo === null) store.setRollout(write.service, write.rollout);
      else store.revertService(write.service, write.revertTo, write.rollout, now);
    }
    for (const allocation of plan.release) store.releaseAllocation(allocation.kind, allocation.name);
    for (const event of plan.events) events.append(event, now);
  });
}

/** What changed for each node, sent once the writes are durable (an agent never runs a task the store lost). */
export function sendPass(plan: PassPlan, targets: ApplyTargets): void {
  const { cluster, secrets, registries } = targets;
  // Read before this pass sends anything: a write over TLS stays counted as unsent until the
  // event loop has turned, so the pass's own assignment would otherwise hold back its endpoints.
  const backlogged = plan.endpoints ? backloggedNodes(cluster, plan.endpoints) : new Set<string>();
  for (const assignment of plan.assignments) {
    const node = cluster.get(assignment.nodeId);
    if (!node?.link) continue;
    node.lastAssignment = assignment.key;
    const tasks = assignment.tasks.map((task) =>
      withRegistryAuth(withSecretFiles(task, secrets), registries),
    );
    node.link.send({ type: 'assign', generation: assignment.generation, tasks });
  }
  // After the assignments: an agent sees a prepared replica assigned before it stops being prepared.
  for (const prepare of plan.prepares) {
    const node = cluster.get(prepare.nodeId);
    if (!node?.link) continue;
    node.lastPrepared = prepare.key;
    const tasks = prepare.tasks.map((task) => withRegistryAuth(task, registries));
    node.link.send({ type: 'prepare', tasks });
  }
  for (const pull of plan.pulls) {
    const node = cluster.get(pull.nodeId);
    if (!node?.link) continue;
    node.pullsAsked.add(pull.requestId);
    const registry = registryOf(pull.image);
    const credential = registries?.credential(registry);
    node.link.send({
      type: 'image.pull',
      request_id: pull.requestId,
      service: pull.service,
      image: pull.image,
      ...(credential ? { registry_auth: registryAuthHeader(registry, credential) } : {}),
    });
  }
  const endpoints = plan.endpoints;
  if (!endpoints) return;
  // A node whose connection held unsent bytes when the pass began sending is skipped, and its
  // session keeps the generation it was last sent: endpoints are level-triggered, so the next
  // pass (the tick, or the next change) plans it a delta from that generation, which covers this
  // one too. A slow socket thereby only ever queues the newest set, and the server's memory does
  // not grow with what 1,000 sockets have not yet taken.
  const recipients = (nodeIds: readonly string[]) => nodeIds.filter((id) => !backlogged.has(id));
  // Serialised once per kind of message, not per node: the same set or delta goes to many.
  const whole: EndpointsDelivery = {
    message: {
      type: 'endpoints',
      generation: endpoints.generation,
      services: [...endpoints.services],
      node_addresses: [...endpoints.peers],
    },
    nodeIds: recipients(endpoints.nodeIds),
  };
  const deliveries = [
    whole,
    ...endpoints.deltas.map(
      (delta): EndpointsDelivery => ({
        message: {
          type: 'endpoints.delta',
          generation: endpoints.generation,
          base_generation: delta.base,
          services: [...delta.services],
          removed: [...delta.removed],
          ...(delta.peers ? { node_addresses: [...delta.peers] } : {}),
          ...(delta.patched?.length ? { patched: [...delta.patched] } : {}),
        },
        nodeIds: recipients(delta.nodeIds),
      }),
    ),
  ].filter((delivery) => delivery.nodeIds.length > 0);
  if (targets.outbox) targets.outbox.add(endpoints.generation, deliveries);
  else for (const delivery of deliveries) sendNow(cluster, endpoints.generation, delivery);
}

/** Sends one endpoints message to its nodes at once, serialised once into one shared buffer. */
function sendNow(cluster: Cluster, generation: number, delivery: EndpointsDelivery): void {
  let bytes: Buffer | undefined;
  for (const id of delivery.nodeIds) {
    const node = cluster.get(id);
    if (!node?.link) continue;
    node.lastEndpoints = generation;
    if (node.link.sendSerialised) {
      bytes ??= Buffer.from(JSON.stringify(delivery.message));
      node.link.sendSerialised(bytes);
    } else node.link.send(delivery.message);
  }
}

/** The endpoints' recipients whose connections hold more than ENDPOINTS_BACKLOG_BYTES unsent. */
function backloggedNodes(cluster: Cluster, endpoints: EndpointsSend): Set<string> {
  const backlogged = new Set<string>();
  for (const id of [...endpoints.nodeIds, ...endpoints.deltas.flatMap((d) => d.nodeIds)]) {
    const unsent = cluster.get(id)?.link?.bufferedBytes?.() ?? 0;
    if (unsent > ENDPOINTS_BACKLOG_BYTES) backlogged.add(id);
  }
  return backlogged;
}

/** Only a task whose image comes from a registry with a stored credential carries it. */
function withRegistryAuth(task: TaskSpec, registries: RegistryCredentialStore | undefined): TaskSpec {
  if (!registries) return task;
  const registry = registryOf(task.spec.image);
  const credential = registries.credential(registry);
  return credential ? { ...task, registry_auth: registryAuthHeader(registry, credential) } : task;
}

/** Only tasks that use secrets or configs carry files, and only to the node that runs them. */
function withSecretFiles(task: TaskSpec, secrets: SecretStore | undefined): TaskSpec {
  const { spec } = task;
  if (!secrets || (!spec.secrets?.length && !spec.configs?.length)) return task;
  return { ...task, secret_files: secretFiles(secrets, spec) };
}
