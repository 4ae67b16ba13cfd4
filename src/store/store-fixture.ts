/**
 * Builders the store tests share (the SQLite store's own tests and the contract both stores meet):
 * a service spec and an unplaced task of it, written once so both suites store the same rows.
 */
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { Task } from '../model/task.ts';

/** `web`, two replicas of the demo image. */
export const webSpec = serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', replicas: 2 });

/** A task of `web`'s first revision, slot 0, not placed yet, with `change` over it. */
export function unplacedTask(id: string, change: Partial<Task> = {}): Task {
  return {
    id,
    service: 'web',
    slot: 0,
    revision: 1,
    nodeId: null,
    desiredState: 'running',
    pendingReason: null,
    createdAt: 1,
    ...change,
  };
}
