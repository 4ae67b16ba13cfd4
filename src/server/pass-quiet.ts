/**
 * When the controller may skip a pass: a pass is a pure function of its snapshot and `now`
 * (plan-pass.ts), so when the last one decided nothing, the next one on the same inputs decides
 * nothing too, until the time alone changes something it read. `quietUntil` is that time; the
 * loop (controller.ts) skips the tick's pass before it while no input changed (no trigger, no
 * change to the nodes' sessions) and runs a safety pass now and then whatever this says; past it,
 * while still nothing changed, it asks `silenceBound` again of the nodes' latest beats. Pure.
 *
 * What the time alone changes, and so what keeps a pass from being quiet:
 * - a node's liveness: a ready node turns unreachable once silent past its heartbeat timeout
 *   (its heartbeats move that later, never earlier, so the bound from the last pass is safe); an
 *   unreachable one turns down after its grace (not quiet at all: it is a moment of change);
 * - endpoints waiting out their pace, or waiting to be written (a node is planned the rest
 *   after), addresses waiting out their hold, preparations for a silent node, a rollout or any
 *   service the reconciler had to plan (its deadlines), replicas waiting for room (placement also
 *   reads image locality and failures that expire).
 */
import type { PassNode } from './pass-snapshot.ts';
import type { PassPlan } from './plan-pass.ts';

export function quietUntil(
  plan: Omit<PassPlan, 'quietUntil'>,
  nodes: readonly PassNode[],
  timeBound: boolean,
  now: number,
): number {
  if (timeBound || plan.again || didSomething(plan)) return now;
  const { memory } = plan;
  if (memory.releases.size > 0 || memory.endpoints?.pending || (memory.preparations?.size ?? 0) > 0)
    return now;
  // Sending: it is planned the rest once written.
  if (nodes.some((node) => node.sending)) return now;
  return silenceBound(nodes, (node) => node.liveness.heartbeatTimeoutMs) ?? now;
}

/** What `silenceBound` reads of a node. */
export interface BeatingNode {
  readonly status: PassNode['status'];
  readonly lastSeen: number;
}

/**
 * The first moment a ready node could turn unreachable by silence alone (its last beat plus its
 * heartbeat timeout, node-liveness.ts), infinity when none is ready; undefined when a node is
 * unreachable (its grace ends with time). Down nodes wait on nothing.
 *
 * The controller also asks it when a quiet pass's bound is over and nothing else changed: a ready
 * node's beats since then moved its bound later, and while every ready node is still inside its
 * timeout, a pass would find the same statuses, so the same nothing to do.
 */
export function silenceBound<N extends BeatingNode>(
  nodes: Iterable<N>,
  heartbeatTimeoutMs: (node: N) => number,
): number | undefined {
  let until = Number.POSITIVE_INFINITY;
  for (const node of nodes) {
    if (node.status === 'down') continue;
    if (node.status !== 'ready') return undefined;
    until = Math.min(until, node.lastSeen + heartbeatTimeoutMs(node));
  }
  return until;
}

function didSomething(plan: Omit<PassPlan, 'quietUntil'>): boolean {
  return (
    plan.statusChanges.length > 0 ||
    plan.insert.length > 0 ||
    plan.update.length > 0 ||
    plan.forget.length > 0 ||
    plan.rollouts.length > 0 ||
    plan.events.length > 0 ||
    plan.allocate.length > 0 ||
    plan.release.length > 0 ||
    plan.assignments.length > 0 ||
    plan.prepares.length > 0 ||
    plan.pulls.length > 0 ||
    plan.endpoints !== undefined
  );
}
