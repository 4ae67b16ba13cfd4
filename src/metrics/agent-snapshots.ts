/**
 * The server's memory of every node's latest agent counters (memory only, replaced by each
 * `agent.metrics` message). A node that disconnects keeps its last snapshot, so its counters do
 * not vanish and return; a node removed from the cluster takes its snapshot with it.
 */
import type { AgentSnapshot } from './agent-counters.ts';

export class AgentSnapshots {
  readonly #byNode = new Map<string, AgentSnapshot>();

  record(nodeId: string, snapshot: AgentSnapshot): void {
    this.#byNode.set(nodeId, snapshot);
  }

  /** The snapshots of the nodes the cluster still knows. */
  current(known: (nodeId: string) => boolean): ReadonlyMap<string, AgentSnapshot> {
    for (const nodeId of this.#byNode.keys()) if (!known(nodeId)) this.#byNode.delete(nodeId);
    return this.#byNode;
  }
}
