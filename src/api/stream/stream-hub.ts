/**
 * The stream's hub: one per server. While any client is connected it re-derives the state from
 * the views every `tickMs` (level-triggered: whatever changed the store, the cluster or a node,
 * the next tick sees it), diffs it against the last, and offers the difference, with the events
 * and stats samples that came meanwhile, to every client, which paces it to its socket. A tick
 * with no difference sends nothing. Each client's credentials are checked again every few
 * seconds, so a session signed out or a token removed ends its stream too. Resource samples are
 * followed only while a client is connected (at 1,000 nodes they come 200 times a second, each a
 * node's replicas to turn into samples): a first client, and a poll of the snapshot, take the
 * latest of each replica and node from the source instead.
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../../auth/authenticate.ts';
import type { SkiffEvent } from '../../model/event.ts';
import type { NodeView, ServiceView } from '../../model/views.ts';
import type { NodeUsage, SnapshotMessage, StatsSample } from './messages.ts';
import { clientMessageSchema, RECENT_EVENTS, STREAM_CLOSE_CODES, STREAM_PROTOCOL } from './messages.ts';
import type { ClientLimits, StreamSocket } from './stream-client.ts';
import { StreamClient } from './stream-client.ts';
import type { StreamChanges, StreamState } from './stream-state.ts';
import { buildState, diffStates, EMPTY_STATE, isEmpty } from './stream-state.ts';

/** Where the hub's data comes from (stream-source.ts builds it from the API's deps). */
export interface StreamSource {
  views(): { readonly services: readonly ServiceView[]; readonly nodes: readonly NodeView[] };
  /** The newest events, oldest first. */
  recentEvents(limit: number): SkiffEvent[];
  subscribeEvents(listener: (event: SkiffEvent) => void): () => void;
  /** Resource samples as they arrive (src/stats); absent while the server has none. */
  subscribeStats?(listener: (samples: readonly StatsSample[]) => void): () => void;
  /** Each node's host usage as it arrives (src/stats); absent while the server has none. */
  subscribeNodeUsage?(listener: (usage: NodeUsage) => void): () => void;
  /** The latest sample of every replica now (what a subscription would have kept). */
  latestStats?(): readonly StatsSample[];
  /** The latest host usage of every node now. */
  latestNodeUsage?(): readonly NodeUsage[];
}

export interface HubOptions {
  readonly source: StreamSource;
  readonly now: () => number;
  /** How often a state is derived while clients are connected: at most 1000/tickMs messages a second per client. */
  readonly tickMs?: number;
  /** How often each client's credentials are checked again. */
  readonly revalidateMs?: number;
  readonly clientLimits?: ClientLimits;
}

export interface Connection {
  /** A text frame from the client. */
  receive(text: string): void;
  /** The socket closed. */
  closed(): void;
}

interface Member {
  readonly client: StreamClient;
  readonly principal: Principal;
  readonly stillValid: () => boolean;
  checkedAt: number;
}

export class StreamHub {
  readonly epoch = randomBytes(6).toString('base64url');
  readonly #options: HubOptions;
  readonly #members = new Set<Member>();
  #state: StreamState = EMPTY_STATE;
  #seq = 0;
  #refreshedAt = Number.NEGATIVE_INFINITY;
  /** Events and samples since the last refresh. */
  #newEvents: SkiffEvent[] = [];
  /** The latest sample of each replica since the last refresh (bounded by the replicas). */
  #newStats = new Map<string, StatsSample>();
  /** What a snapshot shows: the events and latest samples as of the last refresh. */
  #recentEvents: SkiffEvent[] | undefined;
  readonly #latestStats = new Map<string, StatsSample>();
  /** Host usage since the last refresh, and the latest per node (for snapshots). */
  #newUsage = new Map<string, NodeUsage>();
  readonly #latestUsage = new Map<string, NodeUsage>();
  readonly #unsubscribe: (() => void)[] = [];
  /** The stats subscriptions' ends while a client is connected; undefined while none is. */
  #watching: (() => void)[] | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: HubOptions) {
    this.#options = options;
    const { source } = options;
    this.#unsubscribe.push(
      source.subscribeEvents((event) => {
        this.#newEvents.push(event);
        // With no one connected nothing waits for these but the next snapshot's recent list.
        if (this.#members.size === 0 && this.#newEvents.length > RECENT_EVENTS * 2)
          this.#newEvents = this.#newEvents.slice(-RECENT_EVENTS);
      }),
    );
  }

  get clients(): number {
    return this.#members.size;
  }

  /** A new stream client: sends its snapshot at once, then changes. */
  connect(socket: StreamSocket, principal: Principal, stillValid: () => boolean): Connection {
    // The first client: a fresh state with the source's latest samples, then samples as they come.
    if (this.#watching) this.#refreshIfStale();
    else {
      this.#refreshAndOffer();
      this.#watch();
    }
    const client = new StreamClient({
      socket,
      snapshot: () => this.#snapshotAt(principal),
      now: this.#options.now,
      ...(this.#options.clientLimits && { limits: this.#options.clientLimits }),
    });
    const member: Member = { client, principal, stillValid, checkedAt: this.#options.now() };
    this.#members.add(member);
    client.start();
    this.#startTimer();
    return {
      receive: (text) => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const message = clientMessageSchema.safeParse(json);
        if (!message.success) {
          this.#drop(
            member,
            STREAM_CLOSE_CODES.badMessage,
            'not a stream client message: send {"type":"resync"}',
          );
          return;
        }
        client.requestResync();
      },
      closed: () => {
        this.#members.delete(member);
        if (this.#members.size === 0) this.#idle();
      },
    };
  }

  /** The current state for one caller: what the polling fallback answers. */
  snapshot(principal: Principal): SnapshotMessage {
    this.#refreshIfStale();
    return this.#snapshotAt(principal);
  }

  /** One tick now: derive, diff, offer, pace (the timer's work; tests call it directly). */
  tick(): void {
    this.#refreshAndOffer();
    const now = this.#options.now();
    const revalidateMs = this.#options.revalidateMs ?? 5_000;
    for (const member of [...this.#members]) {
      if (now - member.checkedAt >= revalidateMs) {
        member.checkedAt = now;
        if (!member.stillValid()) {
          this.#drop(member, STREAM_CLOSE_CODES.unauthorized, 'the session or token ended: sign in again');
          continue;
        }
      }
      member.client.flush();
      member.client.heartbeat();
    }
  }

  close(): void {
    this.#idle();
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const member of [...this.#members])
      this.#drop(member, STREAM_CLOSE_CODES.serverShutdown, 'server shutting down');
  }

  #drop(member: Member, code: number, reason: string): void {
    this.#members.delete(member);
    member.client.close(code, reason);
    if (this.#members.size === 0) this.#idle();
  }

  /** The first client: samples are followed from now on (the last refresh took the latest). */
  #watch(): void {
    const { source } = this.#options;
    this.#watching = [
      // Kept as the latest per replica, as `latestSamples` would keep them (first-seen order,
      // newest value): compacting a list instead cost every stats message a pass over all
      // 10,000 replicas' samples once the list was that long.
      ...(source.subscribeStats ? [source.subscribeStats((samples) => this.#keepNewStats(samples))] : []),
      // Kept as the latest per node: bounded by the nodes.
      ...(source.subscribeNodeUsage
        ? [source.subscribeNodeUsage((usage) => this.#newUsage.set(usage.node_id, usage))]
        : []),
    ];
  }

  #keepNewStats(samples: readonly StatsSample[]): void {
    for (const sample of samples) this.#newStats.set(sample.task_id, sample);
  }

  /** No client left: nothing follows samples, and what was kept of them is let go. */
  #idle(): void {
    this.#stopTimer();
    for (const unsubscribe of this.#watching ?? []) unsubscribe();
    this.#watching = undefined;
    this.#forgetSamples();
    // So a poll of the snapshot right after takes the latest again.
    this.#refreshedAt = Number.NEGATIVE_INFINITY;
  }

  #forgetSamples(): void {
    this.#newStats = new Map();
    this.#newUsage = new Map();
    this.#latestStats.clear();
    this.#latestUsage.clear();
  }

  /** What a snapshot shows of samples, from the source's latest (of the state's replicas and nodes). */
  #reseedSamples(): void {
    const { source } = this.#options;
    this.#forgetSamples();
    for (const sample of source.latestStats?.() ?? [])
      if (this.#state.tasks.has(sample.task_id)) this.#latestStats.set(sample.task_id, sample);
    for (const usage of source.latestNodeUsage?.() ?? [])
      if (this.#state.nodes.has(usage.node_id)) this.#latestUsage.set(usage.node_id, usage);
  }

  #refreshIfStale(): void {
    if (this.#options.now() - this.#refreshedAt >= (this.#options.tickMs ?? 100)) this.#refreshAndOffer();
  }

  /** Every change goes to every client: a seq no client was offered would be a silent gap. */
  #refreshAndOffer(): void {
    const changes = this.#refresh();
    if (changes) for (const member of this.#members) member.client.offer(changes, this.#seq);
  }

  /** Derives the state; returns what changed (and bumps seq), or undefined when nothing did. */
  #refresh(): StreamChanges | undefined {
    const { source, now } = this.#options;
    this.#refreshedAt = now();
    const { services, nodes } = source.views();
    const next = buildState(services, nodes);
    const diff = diffStates(this.#state, next);
    this.#state = next;
    // Nothing follows samples while no client is connected (a poll of the snapshot): the latest now.
    if (!this.#watching) this.#reseedSamples();
    if (this.#recentEvents === undefined) {
      // The first refresh: the log so far, and only what comes after it as new.
      const known = source.recentEvents(RECENT_EVENTS);
      const lastId = known.at(-1)?.id ?? 0;
      this.#recentEvents = known;
      this.#newEvents = this.#newEvents.filter((e) => e.id > lastId);
    }
    const events = this.#newEvents;
    this.#newEvents = [];
    const stats = [...this.#newStats.values()].filter((s) => next.tasks.has(s.task_id));
    this.#newStats = new Map();
    this.#recentEvents = [...this.#recentEvents, ...events].slice(-RECENT_EVENTS);
    for (const sample of stats) this.#latestStats.set(sample.task_id, sample);
    for (const id of this.#latestStats.keys()) if (!next.tasks.has(id)) this.#latestStats.delete(id);
    const usage = [...this.#newUsage.values()].filter((u) => next.nodes.has(u.node_id));
    this.#newUsage = new Map();
    for (const u of usage) this.#latestUsage.set(u.node_id, u);
    for (const id of this.#latestUsage.keys()) if (!next.nodes.has(id)) this.#latestUsage.delete(id);
    const changes: StreamChanges = {
      ...diff,
      ...(events.length > 0 && { events }),
      ...(stats.length > 0 && { stats }),
      ...(usage.length > 0 && { node_usage: usage }),
    };
    if (isEmpty(changes)) return undefined;
    this.#seq++;
    return changes;
  }

  #snapshotAt(principal: Principal): SnapshotMessage {
    const state = this.#state;
    return {
      type: 'snapshot',
      protocol: STREAM_PROTOCOL,
      epoch: this.epoch,
      seq: this.#seq,
      at: new Date(this.#options.now()).toISOString(),
      principal: { name: principal.name, role: principal.role },
      services: [...state.services.values()].map((r) => r.view),
      tasks: [...state.tasks.values()].map((r) => r.view),
      nodes: [...state.nodes.values()].map((r) => r.view),
      events: this.#recentEvents ?? [],
      stats: [...this.#latestStats.values()],
      node_usage: [...this.#latestUsage.values()],
    };
  }

  #startTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.tick(), this.#options.tickMs ?? 100);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
