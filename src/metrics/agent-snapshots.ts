/**
 * The server's memory of every node's latest agent counters (memory only, replaced by each
 * `agent.metrics` message). A node that disconnects keeps its last snapshot, so its counters do
 * not vanish and return; a node removed from the cluster takes its snapshot with it.
 *
 * Read when asked, not when they arrive: a message's text is kept as its bytes (`recordText`) and
 * parsed at the next scrape (`current`), the latest one of each node only. At 1,000 nodes agents
 * send 40 of them a second (every 25 s each, stats-cadence.ts), about 7 KB each, and reading one
 * (JSON, its entries, the interner) took 75–85 µs of the event loop, for counters that only a
 * scrape reads: an idle server with no Prometheus now does no more than copy the bytes. A text
 * that does not read (not JSON, not an `agent.metrics`) is dropped at the scrape, with a log line,
 * and the node keeps its last snapshot; it no longer closes the agent's connection.
 */
import type { AgentSnapshot } from './agent-counters.ts';

/** One text's snapshot, or why it does not read. */
export type ReadSnapshot = (text: string) => AgentSnapshot | { readonly bad: string };

export interface AgentSnapshotsOptions {
  /** Reads one message's text (the gateway's reader and interner). */
  readonly read?: ReadSnapshot;
  /** A node's snapshot was read (the scrape's text of it is built: agent-text.ts). */
  readonly onRead?: (nodeId: string, snapshot: AgentSnapshot) => void;
  readonly log?: (message: string) => void;
}

export class AgentSnapshots {
  readonly #byNode = new Map<string, AgentSnapshot>();
  /** Each node's latest text not read yet (its bytes, copied off the socket's buffer). */
  readonly #pending = new Map<string, Buffer>();
  readonly #options: AgentSnapshotsOptions;

  constructor(options: AgentSnapshotsOptions = {}) {
    this.#options = options;
  }

  record(nodeId: string, snapshot: AgentSnapshot): void {
    this.#pending.delete(nodeId);
    this.#byNode.set(nodeId, snapshot);
  }

  /** A node's `agent.metrics` message as it came: read at the next `current`, if still its latest. */
  recordText(nodeId: string, bytes: Buffer): void {
    this.#pending.set(nodeId, bytes);
  }

  /** Texts waiting to be read (for tests and the bench's curiosity). */
  get pending(): number {
    return this.#pending.size;
  }

  /** The snapshots of the nodes the cluster still knows, every waiting text read first. */
  current(known: (nodeId: string) => boolean): ReadonlyMap<string, AgentSnapshot> {
    const read = this.#options.read;
    if (read)
      for (const [nodeId, bytes] of this.#pending) {
        if (!known(nodeId)) continue;
        const snapshot = read(bytes.toString('utf8'));
        if ('bad' in snapshot) {
          this.#options.log?.(`agent ${nodeId}: dropped its agent.metrics message: ${snapshot.bad}`);
          continue;
        }
        this.#byNode.set(nodeId, snapshot);
        this.#options.onRead?.(nodeId, snapshot);
      }
    this.#pending.clear();
    for (const nodeId of this.#byNode.keys()) if (!known(nodeId)) this.#byNode.delete(nodeId);
    return this.#byNode;
  }
}
