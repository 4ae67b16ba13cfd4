/**
 * A stand-in Skiff server for the dashboard benchmark: it serves a built `web/dist`, the session
 * routes (cookie + CSRF) and `/api/stream` with the dashboard's message shapes, and generates a
 * cluster of `services` × `replicasPerService` replicas whose state and stats change
 * continuously at `updatesPerReplicaPerSecond`. One replica (the probe, `svc-000-0`) has its
 * restart count raised every `probeIntervalMs`, and the send time of each value is kept, so the
 * page can report when each value was painted.
 *
 * Of each replica's updates, one in ten changes its state (health or status, or restarts); the
 * others are stats samples, which go out as one `stats` message per tick. State changes go out
 * as one `task` message each: the client's worst case.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { ContainerView, NodeView, ServiceView } from '../../src/model/views.ts';

export interface GeneratorOptions {
  readonly distDir: string;
  readonly services: number;
  readonly replicasPerService: number;
  readonly updatesPerReplicaPerSecond: number;
  readonly probeIntervalMs: number;
  readonly token: string;
}

const TICK_MS = 50;
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
  /** Probe value → unix ms it was sent at. */
  readonly probeSentAt = new Map<number, number>();
  #probe = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #probeTimer: ReturnType<typeof setInterval> | undefined;
  #server = createServer((req, res) => void this.#handle(req, res));
  #wss = new WebSocketServer({ noServer: true });
  sentMessages = 0;
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
        ws.send(
          JSON.stringify({ type: 'snapshot', services: this.#services, nodes: this.#nodes, events: [] }),
        );
      });
    });
    await new Promise<void>((done) => this.#server.listen(0, '127.0.0.1', done));
    this.port = (this.#server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the changes. */
  run(): void {
    const { services, replicasPerService, updatesPerReplicaPerSecond } = this.#options;
    const replicas = services * replicasPerService;
    const perTick = (replicas * updatesPerReplicaPerSecond * TICK_MS) / 1000;
    let carry = 0;
    let cursor = 0;
    this.#timer = setInterval(() => {
      carry += perTick;
      const count = Math.floor(carry);
      carry -= count;
      const atMs = Date.now();
      const samples: unknown[] = [];
      for (let i = 0; i < count; i++) {
        const index = cursor++ % replicas;
        const service = this.#services[Math.floor(index / replicasPerService)];
        const container = service?.containers[index % replicasPerService];
        if (!service || !container) continue;
        if (i % 10 === 0 && !(service.name === 'svc-000')) this.#broadcast(this.#change(service, container));
        else
          samples.push({
            service: service.name,
            task_id: container.task_id,
            node_id: container.node_id,
            at_ms: atMs,
            cpu_millicores: 5 + Math.round(Math.random() * 40),
            memory_bytes: (20 + Math.round(Math.random() * 30)) * 1024 * 1024,
          });
      }
      if (samples.length > 0) this.#broadcast({ type: 'stats', samples });
    }, TICK_MS);
    this.#probeTimer = setInterval(() => {
      const service = this.#services[0];
      const container = service?.containers[0];
      if (!service || !container) return;
      const next: ContainerView = { ...container, restart_count: ++this.#probe };
      service.containers[0] = next;
      this.probeSentAt.set(this.#probe, Date.now());
      this.#broadcast({ type: 'task', service: service.name, container: next });
    }, this.#options.probeIntervalMs);
  }

  pause(): void {
    clearInterval(this.#timer);
    clearInterval(this.#probeTimer);
  }

  async stop(): Promise<void> {
    this.pause();
    for (const ws of this.#sockets) ws.terminate();
    await new Promise<void>((done) => this.#server.close(() => done()));
  }

  #change(service: ServiceView, container: ContainerView): unknown {
    const roll = Math.random();
    const next: ContainerView =
      roll < 0.4
        ? { ...container, health: container.health === 'healthy' ? 'unhealthy' : 'healthy' }
        : roll < 0.8
          ? { ...container, status: container.status === 'running' ? 'starting' : 'running' }
          : { ...container, restart_count: container.restart_count + 1, id: randomBytes(6).toString('hex') };
    const at = service.containers.indexOf(container);
    service.containers[at] = next;
    return { type: 'task', service: service.name, container: next };
  }

  #broadcast(message: unknown): void {
    const text = JSON.stringify(message);
    for (const ws of this.#sockets) {
      ws.send(text);
      this.sentMessages++;
    }
  }

  #authorised(req: IncomingMessage): boolean {
    const cookie = /(?:^|;\s*)skiff_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
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
          { name: 'admin', role: 'admin', csrf_token: csrf },
          { 'set-cookie': `skiff_session=${id}; HttpOnly; SameSite=Strict; Path=/` },
        );
      }
      if (!this.#authorised(req)) return json(401, { error: 'no session' });
      return json(200, { name: 'admin', role: 'admin', csrf_token: 'x' });
    }
    if (url.pathname.startsWith('/api/')) {
      if (!this.#authorised(req)) return json(401, { error: 'no session' });
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
