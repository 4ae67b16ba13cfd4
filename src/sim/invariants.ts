/**
 * What must hold in a simulated cluster, as pure checks over one moment's state (the store's
 * services and tasks, the server's node statuses, and what every engine really runs):
 *
 * - a slot never has more than its allowed replicas: at most one task per revision meant to run,
 *   at most two revisions (a start-first replacement), and a service never more tasks meant to run
 *   than replicas + max_surge; on the engines the server can reach, at most two containers run a
 *   slot (the old one until its replacement runs);
 * - no replica on a down node is counted as running (meant to run, or observed running);
 * - no task is lost: every task meant to run is on a node the server knows, or unplaced;
 * - and, once the scenario lets the cluster settle, `convergence` says whether every desired
 *   replica runs where the server believes it does.
 */

import type { NodeStatus } from '../model/node.ts';
import { isServing } from '../reconciler/service-reconciler.ts';
import type { StoredService, StoredTask } from '../store/store.ts';
import type { FakeContainerSnapshot } from './fake-engine.ts';

export interface Invariants {
  readonly now: number;
  readonly services: readonly StoredService[];
  readonly tasks: readonly StoredTask[];
  readonly nodes: readonly { readonly id: string; readonly status: NodeStatus }[];
  readonly engines: readonly {
    readonly node: string;
    /** Not partitioned and not dead: what the server could see and stop. */
    readonly reachable: boolean;
    readonly containers: readonly FakeContainerSnapshot[];
  }[];
}

const slotKey = (service: string, slot: number) => `${service}/${slot}`;

/** Every invariant that fails now, as a sentence each (empty when all hold). */
export function checkInvariants(input: Invariants): string[] {
  const violations: string[] = [];
  const status = new Map(input.nodes.map((n) => [n.id, n.status]));
  const services = new Map(input.services.map((s) => [s.spec.name, s]));
  const bySlot = new Map<string, StoredTask[]>();
  const perService = new Map<string, number>();
  for (const task of input.tasks) {
    if (task.desiredState !== 'running') continue;
    const key = slotKey(task.service, task.slot);
    bySlot.set(key, [...(bySlot.get(key) ?? []), task]);
    perService.set(task.service, (perService.get(task.service) ?? 0) + 1);
    if (task.nodeId !== null && !status.has(task.nodeId)) {
      violations.push(
        `task ${task.service}-${task.slot} is meant to run on ${task.nodeId}, a node the server does not know`,
      );
    }
  }
  for (const [key, tasks] of bySlot) {
    const revisions = new Set(tasks.map((t) => t.revision));
    if (revisions.size !== tasks.length)
      violations.push(`slot ${key} has two tasks of one revision meant to run`);
    if (revisions.size > 2) violations.push(`slot ${key} has ${revisions.size} revisions meant to run`);
  }
  for (const [name, count] of perService) {
    const service = services.get(name);
    if (!service) continue;
    const allowed = service.spec.replicas + service.spec.update.max_surge;
    if (count > allowed)
      violations.push(`service ${name} has ${count} tasks meant to run, more than ${allowed}`);
  }
  for (const task of input.tasks) {
    if (task.nodeId === null || status.get(task.nodeId) !== 'down') continue;
    if (task.desiredState === 'running' || task.observed?.state === 'running') {
      violations.push(
        `task ${task.service}-${task.slot} on down node ${task.nodeId} is counted as running ` +
          `(desired ${task.desiredState}, observed ${task.observed?.state ?? 'nothing'})`,
      );
    }
  }
  const runningSlots = new Map<string, number>();
  for (const engine of input.engines) {
    if (!engine.reachable) continue;
    for (const c of engine.containers) {
      if (c.state !== 'running' || c.service === undefined || c.slot === undefined) continue;
      const key = slotKey(c.service, c.slot);
      runningSlots.set(key, (runningSlots.get(key) ?? 0) + 1);
    }
  }
  for (const [key, count] of runningSlots) {
    if (count > 2) violations.push(`slot ${key} runs in ${count} containers on reachable nodes`);
  }
  return violations;
}

/**
 * Null once every service's slots each run one serving replica of its current revision on a
 * ready node (its engine really running it) and nothing else runs on reachable nodes; otherwise
 * the first reason it has not converged.
 */
export function convergence(input: Invariants): string | null {
  const status = new Map(input.nodes.map((n) => [n.id, n.status]));
  const wanted = new Set<string>();
  const bySlot = new Map<string, StoredTask[]>();
  for (const task of input.tasks) {
    if (task.desiredState !== 'running') continue;
    const key = slotKey(task.service, task.slot);
    bySlot.set(key, [...(bySlot.get(key) ?? []), task]);
  }
  const running = new Map<string, Set<string>>();
  for (const engine of input.engines) {
    running.set(
      engine.node,
      new Set(engine.containers.filter((c) => c.state === 'running').map((c) => c.taskId ?? '')),
    );
  }
  for (const service of input.services) {
    const name = service.spec.name;
    for (let slot = 0; slot < service.spec.replicas; slot++) {
      const tasks = bySlot.get(slotKey(name, slot)) ?? [];
      const [task, ...extra] = tasks;
      if (!task) return `${name}-${slot} has no task meant to run`;
      if (extra.length > 0) return `${name}-${slot} still has ${tasks.length} tasks meant to run`;
      if (task.revision !== service.revision)
        return `${name}-${slot} is at revision ${task.revision}, not ${service.revision}`;
      if (task.nodeId === null) return `${name}-${slot} is not placed (${task.pendingReason ?? 'no reason'})`;
      if (status.get(task.nodeId) !== 'ready')
        return `${name}-${slot} is on ${task.nodeId}, which is not ready`;
      if (!isServing(task))
        return `${name}-${slot} is ${task.observed?.state ?? 'not observed'} (health ${task.observed?.health ?? '-'})`;
      if (!running.get(task.nodeId)?.has(task.id))
        return `${name}-${slot} is reported running on ${task.nodeId}, whose engine does not run it`;
      wanted.add(task.id);
    }
  }
  for (const engine of input.engines) {
    if (!engine.reachable) continue;
    const stray = engine.containers.find(
      (c) => c.state === 'running' && (c.taskId === undefined || !wanted.has(c.taskId)),
    );
    if (stray) return `${engine.node} still runs ${stray.name}, which no service wants`;
  }
  return null;
}

/** One pass of the simulation in a line without ids (task ids come from randomUUID): a trace. */
export function traceLine(input: Invariants): string {
  const tasks = input.tasks
    .filter((t) => t.desiredState === 'running')
    .map((t) => `${t.service}/${t.slot}/r${t.revision}@${t.nodeId ?? '-'}=${t.observed?.state ?? '-'}`)
    .sort();
  const nodes = input.nodes.filter((n) => n.status !== 'ready').map((n) => `${n.id}:${n.status}`);
  return `${input.now} ${fnv(tasks.join(','))} ${nodes.join(',')}`;
}

function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
