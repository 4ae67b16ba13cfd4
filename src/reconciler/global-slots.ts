/**
 * A global service's slots: one per node it should run on (Swarm's global mode, Nomad's system
 * jobs, Kubernetes' DaemonSets). A node keeps the slot its replica had, so `agent-2` stays
 * `agent-2` on its node across updates, restarts and the node's absences; a node new to the
 * service takes the lowest slot no other node holds. Pure.
 */
import type { ReconcilerTask } from './service-reconciler.ts';

/** Which nodes a global service runs on: ready for work, active, matching its constraints and features. */
export interface GlobalNode {
  readonly id: string;
  readonly eligible: boolean;
}

export function globalSlots(
  nodes: readonly GlobalNode[],
  tasks: readonly ReconcilerTask[],
): Map<number, string> {
  const eligible = nodes
    .filter((n) => n.eligible)
    .map((n) => n.id)
    .sort();
  // The slot each node last had: its newest task's, running or not.
  const previous = new Map<string, number>();
  const newestFirst = [...tasks].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
  for (const task of newestFirst)
    if (task.nodeId !== null && !previous.has(task.nodeId)) previous.set(task.nodeId, task.slot);
  const slots = new Map<number, string>();
  const waiting: string[] = [];
  for (const node of eligible) {
    const slot = previous.get(node);
    if (slot !== undefined && !slots.has(slot)) slots.set(slot, node);
    else waiting.push(node);
  }
  // A slot still held by a task of another node that is leaving stays free until that task is gone.
  const taken = new Set([
    ...tasks.filter((t) => t.desiredState === 'running').map((t) => t.slot),
    ...slots.keys(),
  ]);
  let next = 0;
  for (const node of waiting) {
    while (taken.has(next)) next++;
    slots.set(next, node);
    taken.add(next);
  }
  return slots;
}
