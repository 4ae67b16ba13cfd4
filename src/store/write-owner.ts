/**
 * Who a write is for: an API request runs its handler inside `writeOwner.run(owner, …)` and then
 * asks `store.durable(owner)` about its own writes only, so a controller pass that failed beside
 * it (the pass runs outside any request: `unowned`) does not fail the request, and the request's
 * failure is its own. Batches are never shared between owners (etcd-store.ts).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type WriteOwner = object;

export const writeOwner = new AsyncLocalStorage<WriteOwner>();

/** Runs fn outside any owner: its writes are nobody's request (the controller's passes). */
export function unowned<T>(fn: () => T): T {
  return writeOwner.exit(fn);
}
