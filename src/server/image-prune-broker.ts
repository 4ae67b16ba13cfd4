/**
 * `skiff image prune`: asks agents to remove the unused images Skiff pulled, now, and gathers
 * their answers. A request belongs to the agent connection it went out on: when that node
 * disconnects, or does not answer within the timeout, the request ends with that reason. Only
 * the node a request went to may answer it.
 */
import { randomUUID } from 'node:crypto';
import { FEATURES } from '../protocol/features.ts';
import type { RemovedImage } from '../protocol/images-message.ts';
import type { Cluster } from './cluster.ts';

/** A prune lists and removes images one by one: generous, but not forever. */
export const PRUNE_TIMEOUT_MS = 120_000;

export interface NodePrune {
  readonly node: string;
  readonly removed: readonly RemovedImage[];
  /** Why the node did not prune (not connected, an agent without the feature, the engine's error). */
  readonly error: string | null;
}

interface Pending {
  readonly nodeId: string;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (result: NodePrune) => void;
}

export class ImagePruneBroker {
  readonly #cluster: Cluster;
  readonly #timeoutMs: number;
  readonly #pending = new Map<string, Pending>();

  constructor(cluster: Cluster, timeoutMs = PRUNE_TIMEOUT_MS) {
    this.#cluster = cluster;
    this.#timeoutMs = timeoutMs;
  }

  /** Resolves with what the node removed, or why it could not; never rejects. */
  prune(nodeId: string): Promise<NodePrune> {
    const session = this.#cluster.get(nodeId);
    const link = session?.link;
    if (!session || !link)
      return Promise.resolve({ node: nodeId, removed: [], error: 'node is not connected' });
    if (!session.features.has(FEATURES.images))
      return Promise.resolve({
        node: nodeId,
        removed: [],
        error: `agent lacks feature ${FEATURES.images} (upgrade its agent)`,
      });
    const requestId = randomUUID();
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => this.#finish(requestId, [], `no answer within ${this.#timeoutMs / 1000} s`),
        this.#timeoutMs,
      );
      this.#pending.set(requestId, { nodeId, timer, resolve });
      link.send({ type: 'images.prune', request_id: requestId });
    });
  }

  /** An agent's `images.pruned`; ignored unless it is the node the request went to. */
  answered(nodeId: string, requestId: string, removed: readonly RemovedImage[], error: string | null): void {
    if (this.#pending.get(requestId)?.nodeId !== nodeId) return;
    this.#finish(requestId, removed, error);
  }

  nodeGone(nodeId: string): void {
    for (const [requestId, pending] of this.#pending)
      if (pending.nodeId === nodeId) this.#finish(requestId, [], 'node disconnected before it answered');
  }

  close(): void {
    for (const requestId of [...this.#pending.keys()]) this.#finish(requestId, [], 'server shutting down');
  }

  #finish(requestId: string, removed: readonly RemovedImage[], error: string | null): void {
    const pending = this.#pending.get(requestId);
    if (!pending) return;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    pending.resolve({ node: pending.nodeId, removed, error });
  }
}
