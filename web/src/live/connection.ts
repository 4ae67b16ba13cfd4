/**
 * The tab's one live connection: a WebSocket to `/api/stream` whose state messages are checked
 * for continuity as they arrive (same `epoch`, `from` = the last `seq`; otherwise a resync is asked
 * for), queued, and written into the query cache once per animation frame. Every (re)connect
 * starts with a snapshot, so a reconnect resynchronises. If the socket cannot open at all (a proxy
 * that blocks WebSockets), the dashboard polls `GET /api/stream/snapshot` instead, and says so,
 * while it keeps trying the socket with backoff. Its state is always on screen (`ConnectionBadge`).
 */
import type { QueryClient } from '@tanstack/react-query';
import { notifyManager } from '@tanstack/react-query';
import type { StateMessage } from './apply-batch.ts';
import { applyBatch, streamedQueryDefaults } from './apply-batch.ts';
import { backoffDelayMs } from './backoff.ts';
import type { SnapshotMessage } from './messages.ts';
import {
  parseMessage,
  SILENCE_LIMIT_MS,
  SNAPSHOT_PATH,
  STREAM_PATH,
  UNAUTHORIZED_CLOSE_CODE,
} from './messages.ts';
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

export interface ConnectionOptions {
  readonly url: string;
  /** The session ended (a 401, or the socket closed with 4401): the app shows the sign-in. */
  readonly onAuthLost: () => void;
}

export class LiveConnection {
  readonly #client: QueryClient;
  readonly #options: ConnectionOptions;
  readonly #stats = new StatsSeries();
  readonly #listeners = new Set<() => void>();
  #state: ConnectionState = { mode: 'connecting', retryAtMs: null, detail: null, syncedAtMs: null };
  #socket: WebSocket | undefined;
  #queue: StateMessage[] = [];
  #frame: number | undefined;
  #frameTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #pollTag: string | null = null;
  /** The stream position applied up to (as received; the cache catches up by the next frame). */
  #epoch: string | null = null;
  #seq = -1;
  #inSync = false;
  #heardAtMs = 0;
  #attempt = 0;
  #failedOpens = 0;
  #stopped = false;

  constructor(client: QueryClient, options: ConnectionOptions) {
    this.#client = client;
    this.#options = options;
    streamedQueryDefaults(client);
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getState = (): ConnectionState => this.#state;

  start(): void {
    this.#stopped = false;
    this.#watchdog = setInterval(() => this.#checkSilence(), 5000);
    this.#open();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#watchdog);
    this.#stopPolling();
    clearTimeout(this.#frameTimer);
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#frame = undefined;
    this.#frameTimer = undefined;
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
    if (this.#pollTimer === undefined)
      this.#set({ mode: this.#attempt === 0 ? 'connecting' : 'reconnecting', retryAtMs: null });
    let opened = false;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#options.url);
    } catch (error) {
      this.#failed(false, error instanceof Error ? error.message : String(error), 1006);
      return;
    }
    this.#socket = socket;
    this.#inSync = false;
    socket.onopen = () => {
      opened = true;
      this.#heardAtMs = Date.now();
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket || typeof event.data !== 'string') return;
      this.#receive(socket, event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      const why = event.reason || (opened ? `closed (code ${event.code})` : 'the WebSocket could not open');
      this.#failed(opened, why, event.code);
    };
  }

  #receive(socket: WebSocket, text: string): void {
    this.#heardAtMs = Date.now();
    const message = parseMessage(text);
    if (!message) return;
    switch (message.type) {
      case 'snapshot':
        this.#epoch = message.epoch;
        this.#seq = message.seq;
        this.#inSync = true;
        this.#enqueue(message);
        return;
      case 'changes':
        if (!this.#inSync) return;
        if (message.epoch !== this.#epoch || message.from !== this.#seq) {
          // A gap: what we hold can no longer be patched. The snapshot that answers replaces it.
          this.#inSync = false;
          socket.send(JSON.stringify({ type: 'resync' }));
          return;
        }
        this.#seq = message.seq;
        this.#enqueue(message);
        return;
      case 'resync':
        this.#inSync = false;
        return;
      case 'heartbeat':
        if (this.#inSync && (message.epoch !== this.#epoch || message.seq !== this.#seq)) {
          this.#inSync = false;
          socket.send(JSON.stringify({ type: 'resync' }));
        }
        return;
      case 'error':
        this.#set({ detail: message.error });
        return;
    }
  }

  /** A socket that has heard nothing, not even a heartbeat, for too long is presumed dead. */
  #checkSilence(): void {
    const socket = this.#socket;
    if (socket && socket.readyState === WebSocket.OPEN && Date.now() - this.#heardAtMs > SILENCE_LIMIT_MS) {
      this.#socket = undefined;
      socket.close(4000, 'silent');
      this.#failed(true, `nothing heard for ${SILENCE_LIMIT_MS / 1000} s`, 4000);
    }
  }

  #failed(opened: boolean, detail: string, code: number): void {
    if (this.#stopped) return;
    this.#inSync = false;
    if (code === UNAUTHORIZED_CLOSE_CODE) {
      this.#options.onAuthLost();
      return;
    }
    if (opened) this.#failedOpens = 0;
    else this.#failedOpens++;
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

  #enqueue(message: StateMessage): void {
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
    let synced = false;
    notifyManager.batch(() => {
      synced = applyBatch(batch, this.#client, this.#stats, Date.now());
    });
    if (synced && this.#socket !== undefined) {
      this.#attempt = 0;
      this.#failedOpens = 0;
      this.#stopPolling();
      this.#set({ mode: 'live', retryAtMs: null, detail: null, syncedAtMs: Date.now() });
    }
  }

  #stopPolling(): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#pollTag = null;
  }

  /** One read of the stream's snapshot (304 when nothing changed), then the next in POLL_INTERVAL_MS. */
  #poll(): void {
    this.#pollTimer = setTimeout(() => this.#poll(), POLL_INTERVAL_MS);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#pollTag) headers['if-none-match'] = this.#pollTag;
    void fetch(SNAPSHOT_PATH, { headers, credentials: 'same-origin' })
      .then(async (response) => {
        if (this.#pollTimer === undefined) return;
        if (response.status === 401) return this.#options.onAuthLost();
        if (response.status === 304) return this.#set({ syncedAtMs: Date.now() });
        if (!response.ok) return;
        const snapshot = (await response.json()) as SnapshotMessage;
        if (this.#pollTimer === undefined) return;
        this.#pollTag = response.headers.get('etag');
        notifyManager.batch(() => applyBatch([snapshot], this.#client, this.#stats, Date.now()));
        this.#set({ syncedAtMs: Date.now() });
      })
      .catch(() => {});
  }
}

/** The stream's address on this page's own origin (so the server's Origin check passes). */
export function streamUrl(location: Location): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${STREAM_PATH}`;
}
