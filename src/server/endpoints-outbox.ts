/**
 * Endpoints messages on their way to the nodes, a few megabytes a turn of the event loop. A pass
 * that publishes a change every node must hear sends it to every connection, and each copy is
 * encrypted on its own (TLS): the 1.3 MB a fill to 10,000 replicas adds, to 1,000 nodes, is
 * 1.3 GB and five seconds of one core. Sent in one go that blocked every request, heartbeat and
 * pong for those seconds (agents dropped their connections, and got the whole set again); sent a
 * slice at a time, the loop keeps turning between slices.
 *
 * A node's session records the generation once its message is actually written, so a pass that
 * runs before the outbox is empty plans each waiting node a delta from what it really holds, and
 * its deliveries replace the outbox's (they cover what was waiting). Messages are serialised
 * once per kind (the whole set, a delta from one base), and kept while the generation stands, so
 * a pass that re-plans the same delivery does not serialise it again.
 */
import type { ServerMessage } from '../protocol/messages.ts';
import type { AgentLink, Cluster } from './cluster.ts';

/** What one turn of the event loop may write: about 15 ms of TLS on this kind of machine. */
export const OUTBOX_BYTES_PER_TURN = 4 * 1024 * 1024;

/** One message for some nodes: the whole set, or a delta from one base. */
export interface EndpointsDelivery {
  /** Equal keys within a generation are equal messages (`whole`, or the delta's base and kind). */
  readonly key: string;
  readonly message: ServerMessage;
  readonly nodeIds: readonly string[];
}

interface Waiting {
  readonly nodeId: string;
  /** The link it was planned for: a node that reconnected meanwhile is planned again. */
  readonly link: AgentLink;
  readonly key: string;
  readonly message: ServerMessage;
}

export class EndpointsOutbox {
  readonly #cluster: Cluster;
  readonly #bytesPerTurn: number;
  #generation: number | undefined;
  #waiting: Waiting[] = [];
  #next = 0;
  readonly #serialised = new Map<string, Buffer>();
  #scheduled: NodeJS.Immediate | undefined;

  constructor(cluster: Cluster, bytesPerTurn = OUTBOX_BYTES_PER_TURN) {
    this.#cluster = cluster;
    this.#bytesPerTurn = bytesPerTurn;
  }

  /** Nodes still waiting for their message. */
  get size(): number {
    return this.#waiting.length - this.#next;
  }

  /** A pass's deliveries, in place of whatever still waits; the first slice goes out at once. */
  replace(generation: number, deliveries: readonly EndpointsDelivery[]): void {
    if (generation !== this.#generation) this.#serialised.clear();
    this.#generation = generation;
    this.#waiting = [];
    this.#next = 0;
    for (const { key, message, nodeIds } of deliveries) {
      for (const nodeId of nodeIds) {
        const link = this.#cluster.get(nodeId)?.link;
        if (link) this.#waiting.push({ nodeId, link, key, message });
      }
    }
    this.#drain();
  }

  /** Nothing more is sent (the server stops, or no longer leads). */
  clear(): void {
    this.#waiting = [];
    this.#next = 0;
    this.#serialised.clear();
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }

  #drain(): void {
    this.#scheduled = undefined;
    const generation = this.#generation;
    if (generation === undefined) return;
    let written = 0;
    while (this.#next < this.#waiting.length && written < this.#bytesPerTurn) {
      const entry = this.#waiting[this.#next++];
      if (!entry) break;
      const node = this.#cluster.get(entry.nodeId);
      if (!node || node.link !== entry.link) continue;
      node.lastEndpoints = generation;
      if (entry.link.sendSerialised) {
        const bytes = this.#bytes(entry);
        entry.link.sendSerialised(bytes);
        written += bytes.length;
      } else entry.link.send(entry.message);
    }
    if (this.#next < this.#waiting.length) this.#scheduled = setImmediate(() => this.#drain());
    else {
      this.#waiting = [];
      this.#next = 0;
    }
  }

  #bytes(entry: Waiting): Buffer {
    let bytes = this.#serialised.get(entry.key);
    if (!bytes) {
      bytes = Buffer.from(JSON.stringify(entry.message));
      this.#serialised.set(entry.key, bytes);
    }
    return bytes;
  }
}
