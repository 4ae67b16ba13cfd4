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
 *   unreachable one turns down at the end of its grace (`PassPlan.downAt`, the controller's own
 *   wake: a bound, not a reason to run every tick through the grace);
 * - a disconnected node inside the server's startup grace, whose endpoints are served as if it
 *   were ready until `downNotBefore` (plan-pass.ts publishEndpoints): a bound;
 * - endpoints waiting out their pace, or waiting to be written (a node is planned the rest
 *   after), addresses waiting out their hold, a rollout or any service the reconciler had to
 *   plan (its deadlines), replicas waiting for room (placement also reads image locality and
 *   failures that expire): not quiet.
 *
 * What it does not change, so a pass inside a grace may be quiet (issue 9: at 1,000 nodes with
 * 100 killed at once, ~14 passes of 30–40 ms each were run through the 3 s grace, on the event
 * loop the down pass then needed): the preparations for the silent nodes' replicas
 * (prepare-plan.ts). One is kept while its source is still silent (status, session) and its
 * target can still hold it (ready, connected, its agent's features): inputs, or a ready node's
 * silence, which is bounded above. A replica not yet prepared is placed: a new preparation, sent,
 * so the pass did something; one that finds no room finds none on the same inputs again, since
 * only the scheduler's scores read what changes with time (failures that expire, image locality),
 * never whether a node fits. What each target was sent is an input too (`sentPrepared`). A
 * node's return is a session change, and a silent node's beat changes the cluster's version
 * (cluster.ts): either runs the next tick, which drops its preparations at once.
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
  if (memory.releases.size > 0 || memory.endpoints?.pending) return now;
  // Sending: it is planned the rest once written.
  if (nodes.some((node) => node.sending)) return now;
  // Preparations wait on their silent nodes, whose grace is `downAt` (none: not quiet).
  if ((memory.preparations?.size ?? 0) > 0 && plan.downAt === undefined) return now;
  return nodesBound(nodes, plan.downAt, now) ?? now;
}

/**
 * The first moment the time alone changes what a pass reads of the nodes (the module comment):
 * `downAt` (the first group of graces to end), a ready node's silence past its heartbeat timeout,
 * a disconnected node's startup grace; infinity when none; undefined when a node is unreachable
 * and no `downAt` was given (its grace's end is not known here).
 */
export function nodesBound(
  nodes: readonly PassNode[],
  downAt: number | undefined,
  now: number,
): number | undefined {
  let until = downAt ?? Number.POSITIVE_INFINITY;
  for (const node of nodes) {
    if (node.status === 'down') continue;
    if (node.status === 'ready') {
      until = Math.min(until, node.lastSeen + node.liveness.heartbeatTimeoutMs);
      continue;
    }
    if (downAt === undefined) return undefined;
    // Its endpoints are served as if it were ready until then (plan-pass.ts publishEndpoints).
    if (!node.connected && now < node.downNotBefore) until = Math.min(until, node.downNotBefore);
  }
  return until;
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
