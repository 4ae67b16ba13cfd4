/**
 * Failover that does not start from zero, the pure half (plan-pass.ts applies it; the agents'
 * half is agent/prepared-replicas.ts): while a node is silent (unreachable, not yet down), where
 * its replicas would go if it were declared down, so the target agents can prepare them (image
 * present, container created, not started). When the node is called down, each prepared
 * replacement becomes the slot's new task, placed where it was prepared, and its agent only starts
 * it; when the node comes back, the preparations are dropped and the agents remove them.
 *
 * - Which: a silent node's replicas meant to run, of a replicated service, at its current revision
 *   (a rollout's outdated replicas are replaced with the new revision: not prepared), whose spec has no fixed host port, no volume and no secret or
 *   config (a host port is one node's, a volume's data is where it is, secret values go only to a
 *   node that runs the replica: the security and volume issues revisit these).
 * - Where: the scheduler, as for a real placement, over the nodes that can prepare (ready,
 *   connected, `prepared-replicas`): the silent nodes are out, and what is already prepared
 *   counts against each target's allocation, as other placements see it too.
 * - Stable: a preparation stays where it is while its replica stays silent and its target can
 *   still hold it, so a target does not remove and remake containers every pass.
 */
import type { ServiceSpec } from '../model/service-spec.ts';
import type { TaskRecord } from '../model/task.ts';
import { demandOf } from '../scheduler/resources.ts';
import type { NodeSnapshot, PlacementRequest } from '../scheduler/scheduler.ts';
import { schedule } from '../scheduler/scheduler.ts';

/** A replacement made ready on another node for a replica of a silent node. */
export interface Preparation {
  /** The silent node's replica it would replace. */
  readonly sourceTaskId: string;
  readonly sourceNodeId: string;
  /** The replacement task's id, chosen now: the prepared container carries it. */
  readonly taskId: string;
  /** Where it is prepared. */
  readonly nodeId: string;
  readonly service: string;
  readonly slot: number;
  readonly revision: number;
}

/** Why a replica is not prepared (its replacement starts from zero), or null when it may be. */
export function notPreparable(spec: ServiceSpec): string | null {
  if (spec.mode === 'global') return 'a global service runs on each node, not elsewhere';
  if (spec.ports.some((p) => p.host_port !== undefined)) return 'it publishes a fixed host port';
  if ((spec.volumes?.length ?? 0) > 0) return 'it mounts volumes';
  if ((spec.secrets?.length ?? 0) > 0 || (spec.configs?.length ?? 0) > 0) return 'it uses secrets or configs';
  return null;
}

export interface PrepareCandidate {
  /** A replica on a silent node, meant to run. */
  readonly task: TaskRecord;
  /** Its revision's spec. */
  readonly spec: ServiceSpec;
  /** Its service is at this revision (an outdated replica is replaced by the new one: not prepared). */
  readonly current: boolean;
  /** Its placement request as placeReplicas would make it (`taskId` is the replica's own). */
  readonly request: PlacementRequest;
}

export interface PrepareInput {
  /**
   * Every node with what its tasks hold, preparations not counted. Asked only when something is
   * to be placed: a pass over a long silence keeps what it prepared without walking every task.
   */
  readonly nodes: () => readonly NodeSnapshot[];
  /** Nodes that can hold a preparation: ready, connected, their agent lists `prepared-replicas`. */
  readonly canPrepare: ReadonlySet<string>;
  /** The silent nodes' replicas, in the pass's task order. */
  readonly candidates: readonly PrepareCandidate[];
  /** Last pass's preparations, by source task id. */
  readonly previous: ReadonlyMap<string, Preparation>;
  readonly newTaskId: () => string;
}

/** This pass's preparations, by source task id. */
export function planPreparations(input: PrepareInput): Map<string, Preparation> {
  const chosen = new Map<string, Preparation>();
  const eligible = input.candidates.filter(
    (c) => c.current && c.task.nodeId !== null && notPreparable(c.spec) === null,
  );
  if (eligible.length === 0) return chosen;
  const kept: { readonly candidate: PrepareCandidate; readonly preparation: Preparation }[] = [];
  const unplaced: PrepareCandidate[] = [];
  for (const candidate of eligible) {
    const previous = input.previous.get(candidate.task.id);
    if (
      previous &&
      previous.revision === candidate.task.revision &&
      previous.sourceNodeId === candidate.task.nodeId &&
      input.canPrepare.has(previous.nodeId)
    )
      kept.push({ candidate, preparation: previous });
    else unplaced.push(candidate);
  }
  for (const { candidate, preparation } of kept) chosen.set(candidate.task.id, preparation);
  if (unplaced.length === 0) return chosen;
  const nodes = new Map(input.nodes().map((n) => [n.id, { ...n, serviceCounts: new Map(n.serviceCounts) }]));
  const hold = (nodeId: string, spec: ServiceSpec, service: string) => {
    const node = nodes.get(nodeId);
    if (!node) return;
    const demand = demandOf(spec.resources);
    nodes.set(nodeId, {
      ...node,
      allocatedCpuMillicores: node.allocatedCpuMillicores + demand.cpuMillicores,
      allocatedMemoryBytes: node.allocatedMemoryBytes + demand.memoryBytes,
      serviceCounts: node.serviceCounts.set(service, (node.serviceCounts.get(service) ?? 0) + 1),
    });
  };
  // What stays prepared holds its room, as the scheduler sees it.
  for (const { candidate, preparation } of kept)
    hold(preparation.nodeId, candidate.spec, candidate.task.service);
  // Only the nodes that can prepare are candidates: the others (silent ones among them) are out.
  const targets = [...nodes.values()].map(
    (n): NodeSnapshot => (input.canPrepare.has(n.id) ? n : { ...n, schedulable: false }),
  );
  const byId = new Map(unplaced.map((c) => [c.task.id, c]));
  for (const placement of schedule(
    targets,
    unplaced.map((c) => c.request),
  )) {
    const candidate = byId.get(placement.taskId);
    if (!candidate || !placement.placed || candidate.task.nodeId === null) continue;
    chosen.set(candidate.task.id, {
      sourceTaskId: candidate.task.id,
      sourceNodeId: candidate.task.nodeId,
      taskId: input.newTaskId(),
      nodeId: placement.nodeId,
      service: candidate.task.service,
      slot: candidate.task.slot,
      revision: candidate.task.revision,
    });
  }
  return chosen;
}

/** Preparations as the tasks they would be, for the allocation of the nodes that hold them. */
export function preparedAsTasks(preparations: Iterable<Preparation>, now: number): TaskRecord[] {
  return [...preparations].map((p) => ({
    id: p.taskId,
    service: p.service,
    slot: p.slot,
    revision: p.revision,
    nodeId: p.nodeId,
    desiredState: 'running',
    pendingReason: null,
    createdAt: now,
    observed: null,
  }));
}
