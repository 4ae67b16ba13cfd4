/**
 * The tab's one live connection: a WebSocket to `/api/stream` whose messages are queued and
 * written into the query cache once per animation frame. Every (re)connect starts with a
 * snapshot, so a reconnect resynchronises. If the socket cannot open at all (a proxy that blocks
 * WebSockets), the dashboard polls the REST API instead and says so, while it keeps trying the
 * socket with backoff. Its state is always on screen (`ConnectionBadge`).
 */
import type { QueryClient } from '@tanstack/react-query';
import { notifyManager } from '@tanstack/react-query';
import { apiRequest } from '../api/http.ts';
import type { NodeView, ServiceView, SkiffEvent } from '../api/types.ts';
import { applyBatch } from './apply-batch.ts';
import { backoffDelayMs } from './backoff.ts';
import { appendEvents } from './collections.ts';
import type { StreamMessage } from './messages.ts';
import { parseMessage } from './messages.ts';
import { keys, MAX_CACHED_EVENTS } from './query-keys.ts';
import { StatsSeries } from './stats-series.ts';

export type ConnectionMode = 'connecting' | 'live' | 'reconnecting' | 'polling' | 'stopped';

export interface ConnectionState {
  readonly mode: ConnectionMode;
  /** When the next socket attempt is due (unix ms), while reconnecting or polling. */
  readonly retryAtMs: number | null;
  /** Why, in words: the last close or failure. */
  readonly detail: string | null;
  /** When the last snapshot or poll brought the cache up to date (unix ms). */
  readonly syncedAtMs: number | null;
}

export const POLL_INTERVAL_MS = 2000;
/** Socket attempts that never opened, in a row, before the dashboard polls meanwhile. */
const FAILED_OPENS_BEFORE_POLLING = 2;
/** Close codes by which the server says the session is not (or no longer) valid. */
const AUTH_CLOSE_CODES = new Set([1008, 4401, 4403]);

export interface ConnectionOptions {
  readonly url: string;
  /** The session ended (a 401, or the socket closed for auth): the app shows the sign-in. */
  readonly onAuthLost: () => void;
}

export class LiveConnection {
  readonly #client: QueryClient;
  readonly #options: ConnectionOptions;
  readonly #stats = new StatsSeries();
  readonly #listeners = new Set<() => void>();
  #state: ConnectionState = { mode: 'connecting', retryAtMs: null, detail: null, syncedAtMs: null };
  #socket: WebSocket | undefined;
  #queue: StreamMessage[] = [];
  #frame: number | undefined;
  #frameTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #failedOpens = 0;
  #stopped = false;

  constructor(client: QueryClient, options: ConnectionOptions) {
    this.#client = client;
    this.#options = options;
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getState = (): ConnectionState => this.#state;

  start(): void {
    this.#stopped = false;
    this.#open();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#frameTimer);
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#pollTimer = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close(1000, 'signed out');
    this.#queue = [];
    this.#set({ mode: 'stopped', retryAtMs: null });
  }

  #set(patch: Partial<ConnectionState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const listener of this.#listeners) listener();
  }

  #open(): void {
    if (this.#stopped) return;
    const polling = this.#pollTimer !== undefined;
    if (!polling) this.#set({ mode: this.#attempt === 0 ? 'connecting' : 'reconnecting', retryAtMs: null });
    let opened = false;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#options.url);
    } catch (error) {
      this.#failed(false, error instanceof Error ? error.message : String(error), 1006);
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket || typeof event.data !== 'string') return;
      const message = parseMessage(event.data);
      if (message) this.#enqueue(message);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      const why = event.reason || (opened ? `closed (code ${event.code})` : 'could not open a WebSocket');
      this.#failed(opened, why, event.code);
    };
  }

  #failed(opened: boolean, detail: string, code: number): void {
    if (this.#stopped) return;
    if (AUTH_CLOSE_CODES.has(code)) {
      this.#options.onAuthLost();
      return;
    }
    if (!opened) {
      this.#failedOpens++;
      // A socket that never opens may be a blocked upgrade, or an expired session (the upgrade
      // answered 401, which a browser does not show): ask the API which.
      void apiRequest('GET', '/api/session').catch(() => {});
    } else this.#failedOpens = 0;
    const delay = backoffDelayMs(this.#attempt++, Math.random());
    const retryAtMs = Date.now() + delay;
    if (this.#failedOpens >= FAILED_OPENS_BEFORE_POLLING) {
      this.#set({ mode: 'polling', retryAtMs, detail });
      if (this.#pollTimer === undefined) this.#poll();
    } else {
      this.#set({ mode: 'reconnecting', retryAtMs, detail });
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  #enqueue(message: StreamMessage): void {
    this.#queue.push(message);
    if (this.#frame !== undefined || this.#frameTimer !== undefined) return;
    // A hidden tab gets no animation frames: a timer keeps the queue short there.
    if (document.hidden) this.#frameTimer = setTimeout(() => this.#flush(), 250);
    else this.#frame = requestAnimationFrame(() => this.#flush());
  }

  #flush(): void {
    this.#frame = undefined;
    clearTimeout(this.#frameTimer);
    this.#frameTimer = undefined;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    let outcome = { synced: false, needsEvents: false };
    notifyManager.batch(() => {
      outcome = applyBatch(batch, this.#client, this.#stats, Date.now());
    });
    if (outcome.synced) {
      this.#attempt = 0;
      this.#failedOpens = 0;
      this.#stopPolling();
      this.#set({ mode: 'live', retryAtMs: null, detail: null, syncedAtMs: Date.now() });
      if (outcome.needsEvents) void this.#fetchEvents();
    }
  }

  #stopPolling(): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
  }

  async #fetchEvents(): Promise<void> {
    try {
      const events = await apiRequest<SkiffEvent[]>('GET', `/api/events?limit=${MAX_CACHED_EVENTS}`);
      const current = this.#client.getQueryData<readonly SkiffEvent[]>(keys.events) ?? [];
      // Live events may have arrived meanwhile; the fetched backlog goes before them.
      const merged = appendEvents(events, current, MAX_CACHED_EVENTS);
      this.#client.setQueryData(keys.events, merged);
    } catch {
      // The events view says it has none; the next resync tries again.
    }
  }

  /** One round of REST reads into the same cache keys, then the next in POLL_INTERVAL_MS. */
  #poll(): void {
    this.#pollTimer = setTimeout(() => this.#poll(), POLL_INTERVAL_MS);
    const lastId = this.#client.getQueryData<readonly SkiffEvent[]>(keys.events)?.at(-1)?.id;
    const eventsPath =
      lastId === undefined
        ? `/api/events?limit=${MAX_CACHED_EVENTS}`
        : `/api/events?after=${lastId}&limit=1000`;
    void Promise.all([
      apiRequest<ServiceView[]>('GET', '/api/services'),
      apiRequest<NodeView[]>('GET', '/api/nodes'),
      apiRequest<SkiffEvent[]>('GET', eventsPath),
    ])
      .then(([services, nodes, events]) => {
        if (this.#pollTimer === undefined) return;
        notifyManager.batch(() => {
          this.#client.setQueryData(keys.services, [...services].sort(byString((s) => s.name)));
          this.#client.setQueryData(keys.nodes, [...nodes].sort(byString((n) => n.id)));
          const current = this.#client.getQueryData<readonly SkiffEvent[]>(keys.events);
          this.#client.setQueryData(keys.events, appendEvents(current, events, MAX_CACHED_EVENTS));
        });
        this.#set({ syncedAtMs: Date.now() });
      })
      .catch(() => {});
  }
}

function byString<T>(keyOf: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const x = keyOf(a);
    const y = keyOf(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

/** The stream's address on this page's own origin (so the server's Origin check passes). */
export function streamUrl(location: Location): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/stream`;
}
