/**
 * The nodes the server knows: their registration and operator settings (persisted) and their
 * liveness (memory only: heartbeats never touch the database). See node-liveness.ts for when a
 * node is ready, unreachable or down.
 */
import type { NodeAvailability, NodeRegistration, NodeStatus } from '../model/node.ts';
import { BASELINE_FEATURES, FEATURES } from '../protocol/features.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { PullObservation } from '../reconciler/pre-pull.ts';
import type { Store } from '../store/store.ts';
import { retoldIntervalMs, STARTUP_GRACE_MS } from './node-liveness.ts';
import { STATS_BASE_MS, statsIntervalMs } from './stats-cadence.ts';

export interface AgentLink {
  send(message: ServerMessage): void;
  /**
   * Sends a message already serialised (UTF-8 JSON, sent as a text frame): the same endpoints
   * set or delta goes to many nodes, and serialising it (or copying it into a string's bytes)
   * once per node would cost seconds and a copy per socket. The buffer is shared and never
   * changed after. Optional (fakes send).
   */
  sendSerialised?(bytes: Buffer): void;
  /**
   * Bytes queued on the connection and not yet written to the socket (a WebSocket's
   * `bufferedAmount`): what a send would wait behind. Optional (fakes have none).
   */
  bufferedBytes?(): number;
  close(code: number, reason: string): void;
}

export interface NodeSession {
  readonly id: string;
  registration: NodeRegistration;
  status: NodeStatus;
  availability: NodeAvailability;
  /** Labels set through the API; merged over the agent's. */
  operatorLabels: Record<string, string>;
  joinedAt: number;
  /** The last sign of life: a message, or the moment the connection dropped. */
  lastSeen: number;
  /** Not down before this time (the server's startup grace for nodes it knew before). */
  downNotBefore: number;
  lastHeartbeat: number | null;
  link: AgentLink | undefined;
  /** The key of the last assignment sent over the current link, to send only changes. */
  lastAssignment: string | undefined;
  /** The key of the last prepared set sent over the current link (plan-pass.ts `prepares`). */
  lastPrepared: string | undefined;
  /** The generation of the last endpoints sent over the current link. */
  lastEndpoints: number | undefined;
  /** What its agent said it supports (protocol/features.ts); until it says, the baseline. */
  features: ReadonlySet<string>;
  /** The endpoints generation its agent last acknowledged over the current link. */
  endpointsAcked: number;
  /** The heartbeat interval its agent was told at welcome (node-liveness.ts); undefined: the base. */
  heartbeatIntervalMs: number | undefined;
  /** Other agents could not reach its replicas since it last went silent (node-probes.ts). */
  probedDown: boolean;
  /** What its agent said of each pull phase it was asked for, by request id (memory, bounded). */
  readonly pulls: Map<string, PullObservation>;
  /** The pull requests sent over the current link. */
  pullsAsked: Set<string>;
}

/** Pull answers kept per node: a few rollouts' worth (each phase has one request id). */
const MAX_PULLS_PER_NODE = 32;

/** An agent turned away at hello, and why: kept so `skiff nodes` can say so. Memory only. */
export interface Refusal {
  readonly registration: NodeRegistration;
  readonly reason: string;
  /** The first refusal with this reason, and the latest attempt (epoch ms). */
  readonly since: number;
  lastAt: number;
}

/** Refusals kept; an agent retries every 30 s at most, so these are recent ones. */
const MAX_REFUSALS = 100;

/**
 * Why an agent of another cluster is turned away (its data dir says which cluster it belongs to),
 * or undefined when it may join. An agent that names no cluster is fresh and joins any.
 */
export function clusterMismatch(
  agentCluster: string | null | undefined,
  serverCluster: string,
): string | undefined {
  if (agentCluster === null || agentCluster === undefined || agentCluster === serverCluster) return undefined;
  return `its data dir belongs to cluster ${agentCluster}`;
}

export type ConnectOutcome =
  | { readonly ok: true; readonly session: NodeSession; readonly previousStatus: NodeStatus | undefined }
  | { readonly ok: false; readonly reason: string };

export function labelsOf(node: NodeSession): Record<string, string> {
  return { ...node.registration.labels, ...node.operatorLabels };
}

export class Cluster {
  readonly #store: Store;
  readonly #nodes = new Map<string, NodeSession>();
  readonly #refusals = new Map<string, Refusal>();
  #version = 0;
  /** `list()`'s order, until a node joins or goes. */
  #sorted: NodeSession[] | undefined;

  /** `now` is the start time: known nodes get the startup grace from it to come back. */
  constructor(store: Store, now: number) {
    this.#store = store;
    this.#load(now);
  }

  /**
   * Forgets every session and takes the nodes from the store again, each unreachable with the
   * startup grace from `now`: what a server that just became the leader knows of its nodes
   * (their agents are on their way from the previous leader), so none is called down before its
   * agent had the time to reconnect.
   */
  reload(now: number): void {
    this.#version++;
    for (const session of this.#nodes.values()) session.link?.close(4001, 'this server took the lead again');
    this.#sorted = undefined;
    this.#nodes.clear();
    this.#refusals.clear();
    this.#load(now);
  }

  #load(now: number): void {
    for (const node of this.#store.listNodes()) {
      this.#sorted = undefined;
      this.#nodes.set(node.id, {
        id: node.id,
        registration: node.registration,
        status: 'unreachable',
        availability: node.availability,
        operatorLabels: node.labels,
        joinedAt: node.joinedAt,
        lastSeen: now,
        downNotBefore: now + STARTUP_GRACE_MS,
        lastHeartbeat: null,
        link: undefined,
        lastAssignment: undefined,
        lastPrepared: undefined,
        lastEndpoints: undefined,
        features: new Set(BASELINE_FEATURES),
        endpointsAcked: -1,
        heartbeatIntervalMs: undefined,
        probedDown: false,
        pulls: new Map(),
        pullsAsked: new Set(),
      });
    }
  }

  /**
   * Grows with every change a controller pass reads from the sessions, but for the heartbeats of
   * ready nodes (pass-quiet.ts bounds those by time): while it stands, a pass on them decides as
   * the last one did.
   */
  get version(): number {
    return this.#version;
  }

  /** How many nodes the cluster knows (connected or not). */
  get size(): number {
    return this.#nodes.size;
  }

  /** Every session, in no particular order (list() sorts). */
  sessions(): Iterable<NodeSession> {
    return this.#nodes.values();
  }

  /** Every session, ordered by id (sorted once per change of membership, not per call: a pass and every page ask). */
  list(): NodeSession[] {
    this.#sorted ??= [...this.#nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return [...this.#sorted];
  }

  get(id: string): NodeSession | undefined {
    return this.#nodes.get(id);
  }

  /**
   * A node is named by its agent. The same name from a different engine while the first is
   * connected is refused: two hosts must not share one identity.
   */
  connect(
    registration: NodeRegistration,
    link: AgentLink,
    now: number,
    features: readonly string[] = BASELINE_FEATURES,
  ): ConnectOutcome {
    const id = registration.name;
    const existing = this.#nodes.get(id);
    if (existing?.link && existing.registration.engine_id !== registration.engine_id) {
      return { ok: false, reason: `node name ${id} is in use by another engine` };
    }
    existing?.link?.close(4001, 'replaced by a new connection from the same node');
    this.#version++;
    this.#store.upsertNode(id, registration, now);
    this.#refusals.delete(id);
    const session: NodeSession = existing ?? {
      id,
      registration,
      status: 'ready',
      availability: 'active',
      operatorLabels: {},
      joinedAt: now,
      lastSeen: now,
      downNotBefore: 0,
      lastHeartbeat: now,
      link,
      lastAssignment: undefined,
      lastPrepared: undefined,
      lastEndpoints: undefined,
      features: new Set(features),
      endpointsAcked: -1,
      heartbeatIntervalMs: undefined,
      probedDown: false,
      pulls: new Map(),
      pullsAsked: new Set(),
    };
    const previousStatus = existing?.status;
    session.registration = registration;
    session.status = 'ready';
    session.lastSeen = now;
    session.lastHeartbeat = now;
    session.link = link;
    session.features = new Set(features);
    session.endpointsAcked = -1;
    session.lastAssignment = undefined;
    session.lastPrepared = undefined;
    session.lastEndpoints = undefined;
    session.probedDown = false;
    session.pullsAsked = new Set();
    this.#sorted = undefined;
    this.#nodes.set(id, session);
    return { ok: true, session, previousStatus };
  }

  /**
   * The cluster grew: agents told a much shorter interval at their welcome beat slower from now on
   * (those that take `heartbeat.interval`), so the server hears a few hundred beats a second
   * whatever order the nodes joined in, not one node's worth for each of the first to join.
   */
  retellHeartbeatIntervals(wantedMs: number): void {
    for (const session of this.#nodes.values()) {
      if (!session.link || !session.features.has(FEATURES.heartbeatInterval)) continue;
      if (session.heartbeatIntervalMs === undefined) continue;
      const retold = retoldIntervalMs(session.heartbeatIntervalMs, wantedMs);
      if (retold === undefined) continue;
      // Judged by the longer interval at once: lenient until the agent takes it, never harsh.
      session.heartbeatIntervalMs = retold;
      const stats = statsIntervalMs(STATS_BASE_MS, this.#nodes.size);
      session.link.send({
        type: 'heartbeat.interval',
        heartbeat_interval_ms: retold,
        ...(stats > STATS_BASE_MS ? { stats_interval_ms: stats } : {}),
      });
    }
  }

  /** Returns true when this link was the node's current one (a replaced link's close is no news). */
  disconnect(id: string, link: AgentLink, now: number): boolean {
    const session = this.#nodes.get(id);
    if (!session || session.link !== link) return false;
    this.#version++;
    session.link = undefined;
    session.lastAssignment = undefined;
    session.lastPrepared = undefined;
    session.lastEndpoints = undefined;
    session.pullsAsked = new Set();
    session.lastSeen = now;
    session.status = 'unreachable';
    return true;
  }

  /** What the node's agent said of a pull it was asked for (`image.pull_status`). */
  recordPull(id: string, requestId: string, observation: PullObservation): void {
    const session = this.#nodes.get(id);
    if (!session) return;
    this.#version++;
    // Re-inserted, so insertion order is age order: the oldest go past the bound.
    session.pulls.delete(requestId);
    session.pulls.set(requestId, observation);
    for (const oldest of session.pulls.keys()) {
      if (session.pulls.size <= MAX_PULLS_PER_NODE) break;
      session.pulls.delete(oldest);
    }
  }

  ackEndpoints(id: string, generation: number): void {
    const session = this.#nodes.get(id);
    if (session && generation > session.endpointsAcked) session.endpointsAcked = generation;
  }

  /** Its agent holds another set than the one last sent (a delta did not follow it): the whole set goes next. */
  resyncEndpoints(id: string): void {
    const session = this.#nodes.get(id);
    if (!session) return;
    this.#version++;
    session.lastEndpoints = undefined;
  }

  heartbeat(id: string, now: number): void {
    const session = this.#nodes.get(id);
    if (!session) return;
    // A ready node's beat changes nothing a pass decides; a silent or probed one's does.
    if (session.status !== 'ready' || session.probedDown) this.#version++;
    session.lastSeen = now;
    session.lastHeartbeat = now;
    session.probedDown = false;
  }

  /**
   * Indirect probes found the node's replicas unreachable: it is down at the next pass. Ignored
   * once its agent is heard again (the probes answered about a silence that has ended).
   */
  probedDown(id: string, since: number): boolean {
    const session = this.#nodes.get(id);
    if (!session || session.lastSeen > since) return false;
    this.#version++;
    session.probedDown = true;
    return true;
  }

  /**
   * Every node gets its whole assignment again on the next pass: what is attached at sending
   * changed (a registry credential stored or removed), though the tasks did not.
   */
  resendAssignments(): void {
    this.#version++;
    for (const session of this.#nodes.values()) session.lastAssignment = undefined;
  }

  /** A status the controller's pass derived from the node's liveness (plan-pass.ts). */
  setStatus(id: string, status: NodeStatus): void {
    const node = this.#nodes.get(id);
    if (!node || node.status === status) return;
    this.#version++;
    node.status = status;
    // A node back from silence gets its whole assignment again.
    if (status !== 'ready') {
      node.lastAssignment = undefined;
      node.lastEndpoints = undefined;
    }
  }

  setAvailability(id: string, availability: NodeAvailability): NodeSession | undefined {
    const session = this.#nodes.get(id);
    if (!session) return undefined;
    this.#store.setNodeAvailability(id, availability);
    this.#version++;
    session.availability = availability;
    return session;
  }

  setLabels(id: string, labels: Record<string, string>): NodeSession | undefined {
    const session = this.#nodes.get(id);
    if (!session) return undefined;
    this.#store.setNodeLabels(id, labels);
    this.#version++;
    session.operatorLabels = labels;
    return session;
  }

  /**
   * Records that the agent of node `registration.name` was turned away. Returns true when that is
   * news (a first refusal, or a new reason), which is worth an event; a retry is not.
   */
  refuse(registration: NodeRegistration, reason: string, now: number): boolean {
    const id = registration.name;
    const previous = this.#refusals.get(id);
    if (previous?.reason === reason) {
      previous.lastAt = now;
      return false;
    }
    this.#refusals.delete(id);
    this.#refusals.set(id, { registration, reason, since: now, lastAt: now });
    // Insertion order is age order: drop the oldest past the bound.
    for (const oldest of this.#refusals.keys()) {
      if (this.#refusals.size <= MAX_REFUSALS) break;
      this.#refusals.delete(oldest);
    }
    return true;
  }

  refusalOf(id: string): Refusal | undefined {
    return this.#refusals.get(id);
  }

  /** Refused agents of names the cluster does not know: shown, but never scheduled on. */
  refusedStrangers(): Refusal[] {
    return [...this.#refusals.values()].filter((refusal) => !this.#nodes.has(refusal.registration.name));
  }

  /** Forgets a node that is not connected. */
  remove(id: string): boolean {
    if (this.#refusals.delete(id) && !this.#nodes.has(id)) return true;
    const session = this.#nodes.get(id);
    if (!session || session.link) return false;
    this.#store.deleteNode(id);
    this.#version++;
    this.#sorted = undefined;
    this.#nodes.delete(id);
    return true;
  }
}
