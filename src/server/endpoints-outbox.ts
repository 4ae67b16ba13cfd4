/**
 * Endpoints messages on their way to the nodes, about 10 ms of writing a turn of the event loop. A pass
 * that publishes a change every node must hear sends it to every connection, and each copy is
 * encrypted on its own (TLS): the 1.3 MB a fill to 10,000 replicas adds, to 1,000 nodes, is
 * 1.3 GB and five seconds of one core. Sent in one go that blocked every request, heartbeat and
 * pong for those seconds (agents dropped their connections, and got the whole set again); sent a
 * slice at a time, the loop keeps turning between slices.
 *
 * A node's session records the generation once its message is actually written. While a node's
 * message waits here, passes plan it nothing (`has`: the snapshot's `PassNode.sending`), so the
 * same big delta is neither planned nor serialised again by every pass meanwhile; once the queue
 * is empty, `onDrained` asks for a pass, which plans each node a delta from what it then holds.
 * Each message is serialised once, for all the nodes it goes to.
 *
 * What has been written but not yet taken by the kernel is bounded too (`OUTBOX_UNSENT_BYTES`
 * over every connection written to): each TLS copy is encrypted into memory of its own at the
 * write, and 1,000 nodes that read slower than the server writes held 1.3 GB of them at once;
 * freed, that memory stayed with the allocator (RSS 1.4 GB at idle). (Most of that was not freed
 * at all: each connection kept a buffer the size of its largest write, see fragmented-sender.ts,
 * which now writes a large message in fragments; a link's unsent bytes count its queue there.)
 * A connection that takes nothing counts for OUTBOX_UNSENT_HOLD_MS at most, so a stuck agent
 * cannot stall the others.
 */
import type { ServerMessage } from '../protocol/messages.ts';
import type { AgentLink, Cluster } from './cluster.ts';

/**
 * What one turn of the event loop may write, about 10 ms of it: each message costs its bytes
 * (TLS, 4 ms a megabyte here) and a write of its own (a record and a syscall, 30 µs: as much as
 * OUTBOX_MESSAGE_BYTES), so a turn takes 2 MB of a big set, or some 200 small deltas.
 */
export const OUTBOX_BYTES_PER_TURN = 2 * 1024 * 1024;
export const OUTBOX_MESSAGE_BYTES = 8 * 1024;
/** Written and not yet sent, over every connection, before the outbox waits for the kernel. */
export const OUTBOX_UNSENT_BYTES = 16 * 1024 * 1024;
/** How long a connection's unsent bytes count against the bound after its last write. */
export const OUTBOX_UNSENT_HOLD_MS = 2000;
/** How often a full bound is looked at again (a timer: there is one drain event per socket). */
const OUTBOX_RETRY_MS = 5;

/** One message for some nodes: the whole set, or a delta from one base. */
export interface EndpointsDelivery {
  readonly message: ServerMessage;
  readonly nodeIds: readonly string[];
}

interface Message {
  readonly generation: number;
  readonly message: ServerMessage;
  bytes?: Buffer;
}

interface Waiting {
  readonly nodeId: string;
  /** The link it was planned for: a node that reconnected meanwhile is planned again. */
  readonly link: AgentLink;
  readonly message: Message;
}

export class EndpointsOutbox {
  readonly #cluster: Cluster;
  readonly #bytesPerTurn: number;
  readonly #onDrained: () => void;
  #waiting: Waiting[] = [];
  #next = 0;
  readonly #nodes = new Set<string>();
  #scheduled: NodeJS.Immediate | undefined;
  /** Set while the unsent bound is full: the drain looks again then. */
  #retry: NodeJS.Timeout | undefined;
  /** Connections written to whose bytes may not all be sent yet, with when they were written. */
  readonly #flushing = new Map<AgentLink, number>();
  readonly #unsentBytes: number;
  /** The queue did not empty in the turn its messages were added. */
  #spilled = false;

  constructor(
    cluster: Cluster,
    onDrained: () => void,
    bytesPerTurn = OUTBOX_BYTES_PER_TURN,
    unsentBytes = OUTBOX_UNSENT_BYTES,
  ) {
    this.#cluster = cluster;
    this.#onDrained = onDrained;
    this.#bytesPerTurn = bytesPerTurn;
    this.#unsentBytes = unsentBytes;
  }

  /** Nodes still waiting for their message. */
  get size(): number {
    return this.#nodes.size;
  }

  /** Whether a message for this node still waits (a pass plans it nothing meanwhile). */
  has(nodeId: string): boolean {
    return this.#nodes.has(nodeId);
  }

  /** A pass's deliveries, after what already waits; as much as a turn may write goes at once. */
  add(generation: number, deliveries: readonly EndpointsDelivery[]): void {
    for (const { message, nodeIds } of deliveries) {
      const shared: Message = { generation, message };
      for (const nodeId of nodeIds) {
        const link = this.#cluster.get(nodeId)?.link;
        if (!link || this.#nodes.has(nodeId)) continue;
        this.#nodes.add(nodeId);
        this.#waiting.push({ nodeId, link, message: shared });
      }
    }
    if (!this.#scheduled && !this.#retry) this.#drain();
  }

  /** Nothing more is sent (the server stops, or no longer leads). */
  clear(): void {
    this.#waiting = [];
    this.#next = 0;
    this.#nodes.clear();
    if (this.#scheduled) clearImmediate(this.#scheduled);
    if (this.#retry) clearTimeout(this.#retry);
    this.#scheduled = undefined;
    this.#retry = undefined;
    this.#flushing.clear();
    this.#spilled = false;
  }

  /** Bytes written to connections and not yet sent; connections that sent everything are forgotten. */
  #unsent(now: number): number {
    let unsent = 0;
    for (const [link, writtenAt] of this.#flushing) {
      const bytes = link.bufferedBytes?.() ?? 0;
      if (bytes === 0 || now - writtenAt > OUTBOX_UNSENT_HOLD_MS) this.#flushing.delete(link);
      else unsent += bytes;
    }
    return unsent;
  }

  #drain(): void {
    this.#scheduled = undefined;
    this.#retry = undefined;
    const now = Date.now();
    const unsent = this.#unsent(now);
    if (unsent >= this.#unsentBytes && this.#next < this.#waiting.length) {
      this.#spilled = true;
      this.#retry = setTimeout(() => this.#drain(), OUTBOX_RETRY_MS);
      return;
    }
    let written = 0;
    while (
      this.#next < this.#waiting.length &&
      written < this.#bytesPerTurn &&
      unsent + written < this.#unsentBytes
    ) {
      const entry = this.#waiting[this.#next++];
      if (!entry) break;
      this.#nodes.delete(entry.nodeId);
      const node = this.#cluster.get(entry.nodeId);
      if (!node || node.link !== entry.link) continue;
      node.lastEndpoints = entry.message.generation;
      if (entry.link.sendSerialised) {
        entry.message.bytes ??= Buffer.from(JSON.stringify(entry.message.message));
        entry.link.sendSerialised(entry.message.bytes);
        written += entry.message.bytes.length + OUTBOX_MESSAGE_BYTES;
        if (entry.link.bufferedBytes) this.#flushing.set(entry.link, now);
      } else entry.link.send(entry.message.message);
    }
    if (this.#next < this.#waiting.length) {
      this.#spilled = true;
      this.#scheduled = setImmediate(() => this.#drain());
      return;
    }
    this.#waiting = [];
    this.#next = 0;
    // What went out in the turn it was added, its pass already counted as sent; after a wait,
    // the nodes may have missed generations meanwhile: a pass plans them what they lack.
    if (this.#spilled) {
      this.#spilled = false;
      this.#onDrained();
    }
  }
}
