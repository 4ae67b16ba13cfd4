/**
 * A stand-in Skiff server for the dashboard benchmark: it serves a built `web/dist`, the session
 * routes (cookie + CSRF) and `/api/stream` with the dashboard's message shapes, and generates a
 * cluster of `services` × `replicasPerService` replicas whose state and stats change
 * continuously at `updatesPerReplicaPerSecond`. One replica (the probe, `svc-000-0`) has its
 * restart count raised every `probeIntervalMs`, and the send time of each value is kept, so the
 * page can report when each value was painted.
 *
 * It speaks the real stream protocol (src/api/stream/messages.ts): a snapshot, then one `changes`
 * message per tick (100 ms, as the server's hub paces each client) holding every service and task
 * row that changed in the tick, whole, and the tick's stats samples. Of each replica's updates one
 * in ten changes its state (health, status or restarts); the others are stats samples.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type {
  ChangesMessage,
  NodeUsage,
  SnapshotMessage,
  StatsSample,
  TaskView,
} from '../../src/api/stream/messages.ts';
import type { ContainerView, NodeView, ServiceView } from '../../src/model/views.ts';

export interface GeneratorOptions {
  readonly distDir: string;
  readonly services: number;
  readonly replicasPerService: number;
  readonly updatesPerReplicaPerSecond: number;
  readonly probeIntervalMs: number;
  readonly token: string;
  /** How often a `changes` message goes out: the hub's 100 ms, or less to see an unpaced server. */
  readonly tickMs?: number;
}

/** The server's hub sends each client at most one `changes` message per 100 ms tick. */
export const HUB_TICK_MS = 100;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

export class UiStreamServer {
  readonly #options: GeneratorOptions;
  readonly #services: ServiceView[] = [];
  readonly #nodes: NodeView[] = [];
  readonly #sessions = new Map<string, string>();
  readonly #sockets = new Set<WebSocket>();
  /** Probe value → unix ms it changed at (it goes out with the next tick, as the hub would send it). */
  readonly probeSentAt = new Map<number, number>();
  #probe = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #probeTimer: ReturnType<typeof setInterval> | undefined;
  #server = createServer((req, res) => void this.#handle(req, res));
  #wss = new WebSocketServer({ noServer: true });
  sentMessages = 0;
  /** Replica updates made (state changes and stats samples). */
  generatedUpdates = 0;
  port = 0;

  constructor(options: GeneratorOptions) {
    this.#options = options;
    const now = new Date().toISOString();
    for (let n = 0; n < 10; n++) {
      this.#nodes.push({
        id: `node-${n}`,
        name: `node-${n}`,
        status: 'ready',
        availability: 'active',
        address: `10.0.0.${n + 1}`,
        labels: { zone: `z${n % 3}` },
        engine_version: '20.10',
        cpu_millicores: 8000,
        memory_bytes: 16 * 1024 ** 3,
        allocated_cpu_millicores: 0,
        allocated_memory_bytes: 0,
        containers: 0,
        joined_at: now,
        last_heartbeat: now,
        message: null,
      });
    }
    for (let s = 0; s < options.services; s++) {
      const name = `svc-${String(s).padStart(3, '0')}`;
      const containers: ContainerView[] = [];
      for (let r = 0; r < options.replicasPerService; r++) {
        containers.push({
          id: randomBytes(6).toString('hex'),
          name: `${name}-${r}`,
          status: 'running',
          health: 'healthy',
          node_id: `node-${(s + r) % 10}`,
          task_id: `${name}-t${r}`,
          slot: r,
          revision: 1,
          restart_count: 0,
          exit_code: null,
          message: null,
          retry_at: null,
          ports: [],
        });
      }
      this.#services.push({
        name,
        image: 'skiff-demo:v1',
        replicas: options.replicasPerService,
        ports: [],
        resources: { memory_mb: 64 },
        env: {},
        labels: {},
        networks: ['default'],
        placement: { constraints: [], strategy: 'binpack' },
        health_check: {
          type: 'http',
          endpoint: 'http://localhost:8080/health',
          interval: '1s',
          timeout: '1s',
          retries: 3,
          start_period: '0s',
        },
        revision: 1,
        status: 'running',
        running: options.replicasPerService,
        healthy: options.replicasPerService,
        message: null,
        created_at: now,
        updated_at: now,
        rollout: null,
        containers,
      } as unknown as ServiceView);
    }
  }

  async start(): Promise<string> {
    this.#server.on('upgrade', (req, socket, head) => {
      if (!this.#authorised(req)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        this.#sockets.add(ws);
        ws.on('close', () => this.#sockets.delete(ws));
        ws.send(JSON.stringify(this.#snapshot()));
      });
    });
    await new Promise<void>((done) => this.#server.listen(0, '127.0.0.1', done));
    this.port = (this.#server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  #epoch = randomBytes(4).toString('hex');
  #seq = 0;

  #snapshot(): SnapshotMessage {
    return {
      type: 'snapshot',
      protocol: 1,
      epoch: this.#epoch,
      seq: this.#seq,
      at: new Date().toISOString(),
      principal: { name: 'admin', role: 'admin' },
      services: this.#services,
      tasks: this.#services.flatMap((s) => s.containers.map((c) => ({ ...c, service: s.name }))),
      nodes: this.#nodes,
      events: [],
      stats: [],
      node_usage: this.#nodes.map((n) => this.#usageOf(n.id)),
    };
  }

  /** A node's host usage, as its agent would report it (every 5 s per node in the real hub). */
  #usageOf(nodeId: string): NodeUsage {
    return {
      node_id: nodeId,
      at: new Date().toISOString(),
      cpu_percent: 20 + Math.random() * 40,
      cpu_count: 8,
      memory_used_bytes: (4 + Math.random() * 4) * 1024 ** 3,
      memory_total_bytes: 16 * 1024 ** 3,
    };
  }
  #ticks = 0;

  /** Starts the changes. */
  run(): void {
    const { services, replicasPerService, updatesPerReplicaPerSecond } = this.#options;
    const replicas = services * replicasPerService;
    const tickMs = this.#options.tickMs ?? HUB_TICK_MS;
    const perTick = (replicas * updatesPerReplicaPerSecond * tickMs) / 1000;
    let carry = 0;
    let cursor = 0;
    this.#timer = setInterval(() => {
      carry += perTick;
      const count = Math.floor(carry);
      carry -= count;
      this.generatedUpdates += count;
      const at = new Date().toISOString();
      const stats: StatsSample[] = [];
      const changedServices = new Set<ServiceView>();
      const tasks = new Map<string, TaskView>();
      for (let i = 0; i < count; i++) {
        const index = cursor++ % replicas;
        const slot = index % replicasPerService;
        const service = this.#services[Math.floor(index / replicasPerService)];
        const container = service?.containers[slot];
        if (!service || !container) continue;
        if (i % 10 === 0 && service.name !== 'svc-000') {
          const next = this.#change(container);
          service.containers[slot] = next;
          changedServices.add(service);
          tasks.set(next.task_id, { ...next, service: service.name });
        } else
          stats.push({
            task_id: container.task_id,
            service: service.name,
            container: container.name,
            node_id: container.node_id,
            at,
            cpu_percent: 0.5 + Math.random() * 4,
            memory_bytes: (20 + Math.round(Math.random() * 30)) * 1024 * 1024,
            memory_limit_bytes: 64 * 1024 * 1024,
            net_rx_bytes: null,
            net_tx_bytes: null,
          });
      }
      if (this.#probeDue) {
        this.#probeDue = false;
        const service = this.#services[0];
        const container = service?.containers[0];
        if (service && container) {
          const next: ContainerView = { ...container, restart_count: ++this.#probe };
          service.containers[0] = next;
          changedServices.add(service);
          tasks.set(next.task_id, { ...next, service: service.name });
          this.probeSentAt.set(this.#probe, this.#probeDueAtMs);
        }
      }
      const from = this.#seq;
      this.#seq++;
      const message: ChangesMessage = {
        type: 'changes',
        epoch: this.#epoch,
        seq: this.#seq,
        from,
        at,
        // Each changed row whole, as the hub sends it (a new object: the server re-serialises).
        services: {
          upsert: [...changedServices].map((s) => ({ ...s, containers: [...s.containers], updated_at: at })),
          remove: [],
        },
        tasks: { upsert: [...tasks.values()], remove: [] },
        stats,
        // Ten nodes reporting every 5 s: one node's host figures every half second.
        ...(this.#ticks++ % Math.max(1, Math.round(500 / tickMs)) === 0 && {
          node_usage: [this.#usageOf(this.#nodes[this.#ticks % this.#nodes.length]?.id ?? 'node-0')],
        }),
      };
      this.#broadcast(message);
    }, tickMs);
    // The probe's value is due every probeIntervalMs and goes out with the next tick, as a real
    // change would.
    this.#probeTimer = setInterval(() => {
      this.#probeDue = true;
      this.#probeDueAtMs = Date.now();
    }, this.#options.probeIntervalMs);
  }

  #probeDue = false;
  #probeDueAtMs = 0;

  pause(): void {
    clearInterval(this.#timer);
    clearInterval(this.#probeTimer);
  }

  async stop(): Promise<void> {
    this.pause();
    for (const ws of this.#sockets) ws.terminate();
    await new Promise<void>((done) => this.#server.close(() => done()));
  }

  #change(container: ContainerView): ContainerView {
    const roll = Math.random();
    if (roll < 0.4) return { ...container, health: container.health === 'healthy' ? 'unhealthy' : 'healthy' };
    if (roll < 0.8) return { ...container, status: container.status === 'running' ? 'starting' : 'running' };
    return { ...container, restart_count: container.restart_count + 1, id: randomBytes(6).toString('hex') };
  }

  #broadcast(message: unknown): void {
    const text = JSON.stringify(message);
    for (const ws of this.#sockets) {
      ws.send(text);
      this.sentMessages++;
    }
  }

  #sessionOf(req: IncomingMessage): string | undefined {
    return /(?:^|;\s*)skiff_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  }

  #authorised(req: IncomingMessage): boolean {
    const cookie = this.#sessionOf(req);
    return cookie !== undefined && this.#sessions.has(cookie);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/api/session') {
      if (req.method === 'POST') {
        let body = '';
        for await (const chunk of req) body += chunk;
        const token = (JSON.parse(body) as { token?: string }).token;
        if (token !== this.#options.token) return json(401, { error: 'invalid token' });
        const id = randomBytes(16).toString('hex');
        const csrf = randomBytes(16).toString('hex');
        this.#sessions.set(id, csrf);
        return json(
          201,
          { name: 'admin', role: 'admin', via: 'session', csrf_token: csrf, expires_at: null },
          { 'set-cookie': `skiff_session=${id}; HttpOnly; SameSite=Strict; Path=/` },
        );
      }
      if (!this.#authorised(req)) return json(401, { error: 'no session' });
      return json(200, {
        name: 'admin',
        role: 'admin',
        via: 'session',
        csrf_token: this.#sessions.get(this.#sessionOf(req) ?? ''),
        expires_at: null,
      });
    }
    if (url.pathname.startsWith('/api/')) {
      if (!this.#authorised(req)) return json(401, { error: 'no session' });
      if (url.pathname === '/api/stream/snapshot') return json(200, this.#snapshot());
      if (url.pathname === '/api/services') return json(200, this.#services);
      if (url.pathname === '/api/nodes') return json(200, this.#nodes);
      if (url.pathname === '/api/events') return json(200, []);
      return json(404, { error: 'no route' });
    }
    const path = normalize(url.pathname === '/' ? '/index.html' : url.pathname).replace(/^(\.\.[/\\])+/, '');
    try {
      const body = await readFile(join(this.#options.distDir, path));
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  }
}
