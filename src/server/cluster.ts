/**
 * The nodes the server knows: their registration (persisted) and their connection state
 * (memory only: heartbeats never touch the database). A node is ready while its agent is
 * connected and unreachable otherwise.
 */
import type { NodeRegistration, NodeStatus } from '../model/node.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { Store } from '../store/store.ts';

export interface AgentLink {
  send(message: ServerMessage): void;
  close(code: number, reason: string): void;
}

export interface NodeSession {
  readonly id: string;
  registration: NodeRegistration;
  status: NodeStatus;
  joinedAt: number;
  lastHeartbeat: number | null;
  link: AgentLink | undefined;
  /** The last assignment sent over the current link, to send only changes. */
  lastAssignment: string | undefined;
}

export type ConnectOutcome =
  | { readonly ok: true; readonly session: NodeSession; readonly previousStatus: NodeStatus | undefined }
  | { readonly ok: false; readonly reason: string };

export class Cluster {
  readonly #store: Store;
  readonly #nodes = new Map<string, NodeSession>();

  constructor(store: Store) {
    this.#store = store;
    // Known nodes start unreachable: nothing is assumed about them until their agent returns.
    for (const node of store.listNodes()) {
      this.#nodes.set(node.id, {
        id: node.id,
        registration: node.registration,
        status: 'unreachable',
        joinedAt: node.joinedAt,
        lastHeartbeat: null,
        link: undefined,
        lastAssignment: undefined,
      });
    }
  }

  list(): NodeSession[] {
    return [...this.#nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): NodeSession | undefined {
    return this.#nodes.get(id);
  }

  /**
   * A node is named by its agent. The same name from a different engine while the first is
   * connected is refused: two hosts must not share one identity.
   */
  connect(registration: NodeRegistration, link: AgentLink, now: number): ConnectOutcome {
    const id = registration.name;
    const existing = this.#nodes.get(id);
    if (existing?.link && existing.registration.engine_id !== registration.engine_id) {
      return { ok: false, reason: `node name ${id} is in use by another engine` };
    }
    existing?.link?.close(4001, 'replaced by a new connection from the same node');
    this.#store.upsertNode(id, registration, now);
    const session: NodeSession = existing ?? {
      id,
      registration,
      status: 'ready',
      joinedAt: now,
      lastHeartbeat: now,
      link,
      lastAssignment: undefined,
    };
    const previousStatus = existing?.status;
    session.registration = registration;
    session.status = 'ready';
    session.lastHeartbeat = now;
    session.link = link;
    session.lastAssignment = undefined;
    this.#nodes.set(id, session);
    return { ok: true, session, previousStatus };
  }

  /** Returns true when this link was the node's current one (a replaced link's close is no news). */
  disconnect(id: string, link: AgentLink): boolean {
    const session = this.#nodes.get(id);
    if (!session || session.link !== link) return false;
    session.link = undefined;
    session.lastAssignment = undefined;
    session.status = 'unreachable';
    return true;
  }

  heartbeat(id: string, now: number): void {
    const session = this.#nodes.get(id);
    if (session) session.lastHeartbeat = now;
  }
}
