/**
 * Shared fixture for the in-process API tests: the real deps (a Store on a temp SQLite file, a
 * Cluster, EventLog, LogBroker and Controller, never started) behind `createApp`, driven through
 * Hono's `app.request`. The one fake is the agent link, which records what the server sends.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { readClusterState, taskCreatedAt } from '../metrics/cluster-state.ts';
import { ServerMetrics } from '../metrics/server-metrics.ts';
import { statsUsage } from '../metrics/stats-usage.ts';
import type { AddressPool } from '../model/addressing.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import type { NodeRegistration } from '../model/node.ts';
import type { TaskObservation } from '../model/task.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { RegistryCredentialStore } from '../registry/credential-store.ts';
import { SecretStore } from '../secrets/secret-store.ts';
import type { AgentLink } from '../server/cluster.ts';
import { Cluster } from '../server/cluster.ts';
import { Controller } from '../server/controller.ts';
import { EventLog } from '../server/event-log.ts';
import { ImageInventory } from '../server/image-inventory.ts';
import { ImagePruneBroker } from '../server/image-prune-broker.ts';
import { SoleLeadership } from '../server/leadership/leadership.ts';
import { serversRoutes } from '../server/leadership/servers-routes.ts';
import { LogBroker } from '../server/log-broker.ts';
import { DEFAULT_LIVENESS } from '../server/node-liveness.ts';
import { StatsWindow } from '../stats/stats-window.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { createApp } from './app.ts';
import type { ApiDeps } from './deps.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` } as const;

export type AssignMessage = Extract<ServerMessage, { type: 'assign' }>;

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body, or the raw text when the body is not JSON. */
  readonly body: unknown;
  readonly text: string;
}

export interface FakeNode {
  readonly id: string;
  readonly sent: ServerMessage[];
  /** Every `assign` message the node received, oldest first. */
  assigns(): AssignMessage[];
  lastAssign(): AssignMessage | undefined;
}

export interface Fixture {
  readonly app: Hono;
  readonly store: SqliteStore;
  readonly cluster: Cluster;
  readonly controller: Controller;
  readonly events: EventLog;
  readonly logs: LogBroker;
  /** The server metrics `GET /metrics` serves (no process defaults). */
  readonly metrics: ServerMetrics;
  /** The stats window behind /api/stats: tests record samples into it. */
  readonly stats: StatsWindow;
  /** The nodes' images behind /api/images and the scheduler's locality: tests apply reports to it. */
  readonly images: ImageInventory;
  /** Where prunes go out; a test answers for its fake agent with `answered`. */
  readonly imagePrunes: ImagePruneBroker;
  /** Milliseconds since the epoch the deps see; tests may move it. */
  clock: number;
  /** Internal errors the app logged (a 500 leaves a line here). */
  readonly logged: string[];
  /** A request with the admin token (unless `headers.authorization` says otherwise). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  /** A request with exactly the given init: no token added, body sent as is. */
  raw(path: string, init?: RequestInit): Promise<ApiResponse>;
  /** Registers a ready node whose agent link records sent messages. */
  connectNode(
    name: string,
    capacity?: { memoryBytes?: number; cpuMillicores?: number; features?: readonly string[] },
  ): FakeNode;
  close(): void;
}

export const GiB = 1024 * 1024 * 1024;

/** `serverPort` is the server's own port; `addressPool` the cluster's (default 10.240.0.0/12). */
export function createFixture(
  options: {
    serverPort?: number;
    addressPool?: AddressPool;
    /** More deps for the app (a session key, assets, allowed origins …). */
    deps?: Partial<Pick<ApiDeps, 'sessionKey' | 'assets' | 'allowedOrigins' | 'stats' | 'digestResolver'>>;
  } = {},
): Fixture {
  const addressPool = options.addressPool ?? DEFAULT_POOL;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-api-test-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  const logged: string[] = [];
  const log = (message: string) => {
    logged.push(message);
  };
  let clock = Date.parse('2025-06-01T12:00:00.000Z');
  const now = () => clock;
  const cluster = new Cluster(store, now());
  const events = new EventLog(store);
  const key = randomBytes(32);
  const secrets = new SecretStore(store, key);
  const registries = new RegistryCredentialStore(store, key);
  const metrics = new ServerMetrics({ defaultMetrics: false });
  const images = new ImageInventory();
  // Agents answer a prune within a second here, or never.
  const imagePrunes = new ImagePruneBroker(cluster, 1000);
  const controller = new Controller({
    store,
    cluster,
    events,
    liveness: DEFAULT_LIVENESS,
    addressPool,
    now,
    log,
    secrets,
    registries,
    images,
    onPlan: (plan) => metrics.observePlan(plan, taskCreatedAt(store), now()),
  });
  const logs = new LogBroker(cluster);
  const stats = new StatsWindow();
  metrics.setSources({
    cluster: () => readClusterState({ store, cluster, specOf: (s, r) => controller.specOf(s, r), now }),
    usage: statsUsage(stats, now),
  });
  const app = createApp(
    {
      store,
      cluster,
      controller,
      events,
      logs,
      adminToken: ADMIN_TOKEN,
      addressPool,
      now,
      secrets,
      registries,
      stats,
      images,
      imagePrunes,
      serverPort: () => options.serverPort,
      metrics,
      ...options.deps,
      // `GET /api/servers` as one server on SQLite answers it.
      extraApiRoutes: [
        serversRoutes({
          store,
          leadership: () =>
            new SoleLeadership({ id: 'fixture-8080', url: 'https://127.0.0.1:8080', startedAt: now() }),
        }),
      ],
    },
    log,
  );

  const raw = async (path: string, init?: RequestInit): Promise<ApiResponse> => {
    const response = await app.request(path, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, headers: response.headers, body, text };
  };

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    raw(path, {
      method,
      headers: {
        ...AUTH,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });

  const connectNode = (
    name: string,
    capacity: { memoryBytes?: number; cpuMillicores?: number; features?: readonly string[] } = {},
  ): FakeNode => {
    const sent: ServerMessage[] = [];
    const link: AgentLink = {
      send: (message) => {
        sent.push(message);
      },
      close: () => {},
    };
    const registration: NodeRegistration = {
      name,
      engine_id: `engine-${name}`,
      address: '10.0.0.1',
      labels: {},
      cpu_millicores: capacity.cpuMillicores ?? 4000,
      memory_bytes: capacity.memoryBytes ?? 8 * GiB,
      engine_version: '27.0.0',
    };
    const outcome = capacity.features
      ? cluster.connect(registration, link, now(), capacity.features)
      : cluster.connect(registration, link, now());
    if (!outcome.ok) throw new Error(`fake node ${name} refused: ${outcome.reason}`);
    const assigns = () => sent.filter((m): m is AssignMessage => m.type === 'assign');
    return { id: outcome.session.id, sent, assigns, lastAssign: () => assigns().at(-1) };
  };

  return {
    get clock() {
      return clock;
    },
    set clock(value: number) {
      clock = value;
    },
    app,
    store,
    cluster,
    controller,
    events,
    logs,
    metrics,
    stats,
    images,
    imagePrunes,
    logged,
    call,
    raw,
    connectNode,
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * What a node's agent would report: every task it was last assigned in `state` (running: ready
 * long enough, and healthy with no check), then a pass. With `only`, a partial report of the
 * tasks it accepts.
 */
export function reportAssigned(
  f: Fixture,
  node: FakeNode,
  state: TaskObservation['state'] = 'running',
  message: string | null = null,
  only?: (taskId: string) => boolean,
): void {
  const tasks = (node.lastAssign()?.tasks ?? []).filter((t) => only === undefined || only(t.task_id));
  f.controller.applyReport(node.id, {
    type: 'report',
    generation: 1,
    full: only === undefined,
    removed: [],
    events: [],
    tasks: tasks.map((t) => ({
      task_id: t.task_id,
      state,
      container_id: t.task_id.slice(0, 12),
      health: 'none',
      message,
      exit_code: null,
      restart_count: 0,
      ports: [],
      retry_at: null,
      ready_since: state === 'running' ? 0 : null,
      ip: null,
    })),
  });
  f.controller.sync();
}

/** A string property of a JSON body, or undefined. */
export function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

/** The app's routes (not middleware), as [METHOD, /path/:param] pairs. */
export function appRoutes(app: Hono): [string, string][] {
  const seen = new Set<string>();
  const routes: [string, string][] = [];
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    routes.push([route.method, route.path]);
  }
  return routes;
}
