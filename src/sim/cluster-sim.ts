/**
 * The cluster simulator: the real server (store, cluster, controller, API routes) and N simulated
 * nodes (the agent's pure cores on fake engines) in one thread, in virtual time, with faults
 * (hosts dying, partitions, flapping) and invariants checked after every controller pass.
 *
 * The server side is the real `Controller` (each pass a snapshot, the pure `planPass`, and its
 * applier) over an in-memory SQLite store, driven pass by pass on the virtual clock (its own
 * timer is never started). The API routes run through `app.request`, as in the API tests.
 * Messages between server and nodes go through links that the simulator delays (1 ms) or drops
 * (partitions, dead hosts).
 *
 * Deterministic for a seed in everything the simulator owns (time, delays, victims, ids of fake
 * containers) and in the controller's task ids, drawn from a seeded stream of their own.
 */

import { imagesDelta, reportedImages } from '../agent/image-report.ts';
import { createApp } from '../api/app.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import type { NodeRegistration } from '../model/node.ts';
import type { ServiceSpecInput } from '../model/service-spec.ts';
import type { ImagesMessage } from '../protocol/images-message.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { AgentLink } from '../server/cluster.ts';
import { Cluster } from '../server/cluster.ts';
import { Controller } from '../server/controller.ts';
import { EventLog } from '../server/event-log.ts';
import { ImageInventory } from '../server/image-inventory.ts';
import { LogBroker } from '../server/log-broker.ts';
import type { LivenessSettings } from '../server/node-liveness.ts';
import { DEFAULT_LIVENESS } from '../server/node-liveness.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { TimerHandle } from './clock.ts';
import { VirtualClock } from './clock.ts';
import type { DelayMs } from './fake-engine.ts';
import { FakeEngine } from './fake-engine.ts';
import type { Invariants } from './invariants.ts';
import { checkInvariants, convergence, traceLine } from './invariants.ts';
import type { Random } from './random.ts';
import { hexId, seededRandom, seedOf } from './random.ts';
import { SimNode } from './sim-node.ts';

const ADMIN_TOKEN = 'sim-admin-token';
const CLUSTER_ID = 'sim-cluster';

export interface ClusterSimOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly cpuMillicores?: number;
  readonly memoryBytes?: number;
  readonly liveness?: LivenessSettings;
  /** The controller's tick (the real server's is 250 ms). */
  readonly tickMs?: number;
  readonly heartbeatMs?: number;
  /** One way, server ⇄ node. */
  readonly latencyMs?: number;
  readonly startDelayMs?: DelayMs;
  /** Every image's size as nodes report it (image locality weighs it): 50 MB by default. */
  readonly imageSizeBytes?: number;
}

/** An invariant broke: the message says which, when, and how to replay it. */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  readonly violations: readonly string[];
  constructor(message: string, violations: readonly string[]) {
    super(message);
    this.violations = violations;
  }
}

type NodeState = 'up' | 'partitioned' | 'dead';

interface NodeHandle {
  readonly name: string;
  readonly registration: NodeRegistration;
  node: SimNode;
  state: NodeState;
  link: AgentLink | undefined;
  heartbeat: TimerHandle | undefined;
  /** The images the server was last sent over the current link (by id); undefined: a full list next. */
  imagesSent: Map<string, string> | undefined;
}

export class ClusterSim {
  readonly clock = new VirtualClock(Date.parse('2030-01-01T00:00:00.000Z'));
  readonly random: Random;
  readonly store = new SqliteStore(':memory:');
  readonly cluster: Cluster;
  readonly controller: Controller;
  /** The nodes' images as they report them, which the scheduler's locality reads. */
  readonly images = new ImageInventory();
  readonly #options: Required<Omit<ClusterSimOptions, 'seed' | 'nodes'>> & { seed: number; nodes: number };
  readonly #app: ReturnType<typeof createApp>;
  readonly #nodes = new Map<string, NodeHandle>();
  /** A short line per pass, ids left out: the same seed gives the same trace. */
  readonly trace: string[] = [];
  /** What the scenario says it is doing, for the violation message. */
  replay = '';
  #tick: TimerHandle | undefined;
  #passes = 0;
  /** What the controller logged (a failed pass): a violation at the next check. */
  readonly #controllerErrors: string[] = [];

  constructor(options: ClusterSimOptions) {
    this.#options = {
      cpuMillicores: 3000,
      memoryBytes: 8 * 1024 ** 3,
      liveness: DEFAULT_LIVENESS,
      tickMs: 250,
      heartbeatMs: Math.round((options.liveness ?? DEFAULT_LIVENESS).heartbeatTimeoutMs / 3),
      latencyMs: 1,
      startDelayMs: { minMs: 50, maxMs: 300 },
      imageSizeBytes: 50 * 1024 * 1024,
      ...options,
    };
    this.random = seededRandom(options.seed);
    const now = () => this.clock.now();
    this.cluster = new Cluster(this.store, now());
    const events = new EventLog(this.store);
    this.controller = new Controller({
      store: this.store,
      cluster: this.cluster,
      events,
      liveness: this.#options.liveness,
      addressPool: DEFAULT_POOL,
      now,
      log: (message) => this.#controllerErrors.push(message),
      images: this.images,
      newTaskId: (() => {
        const ids = seededRandom(seedOf('task-ids', options.seed));
        return () => hexId(ids, 32);
      })(),
    });
    this.#app = createApp({
      store: this.store,
      cluster: this.cluster,
      controller: this.controller,
      events,
      logs: new LogBroker(this.cluster),
      adminToken: ADMIN_TOKEN,
      addressPool: DEFAULT_POOL,
      now,
    });
    for (let i = 1; i <= options.nodes; i++) {
      const name = `node-${String(i).padStart(4, '0')}`;
      const registration: NodeRegistration = {
        name,
        engine_id: `engine-${name}`,
        address: `10.1.${Math.floor(i / 250)}.${i % 250}`,
        labels: { zone: `zone-${i % 3}` },
        cpu_millicores: this.#options.cpuMillicores,
        memory_bytes: this.#options.memoryBytes,
        engine_version: 'fake-1',
      };
      this.#nodes.set(name, {
        name,
        registration,
        node: this.#newNode(name),
        state: 'up',
        link: undefined,
        heartbeat: undefined,
        imagesSent: undefined,
      });
    }
  }

  get nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  get passes(): number {
    return this.#passes;
  }

  /** Every node connects; the controller starts ticking. */
  async start(): Promise<void> {
    for (const handle of this.#nodes.values()) this.#connect(handle);
    const tick = () => {
      this.#pass();
      this.#tick = this.clock.setTimeout(tick, this.#options.tickMs);
    };
    this.#tick = this.clock.setTimeout(tick, this.#options.tickMs);
    await this.clock.advance(this.#options.latencyMs * 4);
  }

  close(): void {
    this.clock.clearTimeout(this.#tick);
    for (const handle of this.#nodes.values()) handle.node.stop();
    this.store.close();
  }

  // --- the API, as a client sees it ---

  async api(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await this.#app.request(path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 400)
      throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }

  async deploy(spec: ServiceSpecInput): Promise<void> {
    await this.api('POST', '/api/deploy', spec);
  }

  // --- time ---

  async run(ms: number): Promise<void> {
    await this.clock.advance(ms);
  }

  /** Runs until the cluster has converged; a violation if it has not within `maxMs`. */
  async settle(maxMs: number): Promise<number> {
    const startedAt = this.clock.now();
    for (;;) {
      const why = convergence(this.#invariantInput());
      if (why === null) return this.clock.now() - startedAt;
      if (this.clock.now() - startedAt >= maxMs) {
        this.#fail([`did not converge within ${maxMs} ms: ${why}`]);
      }
      await this.run(this.#options.tickMs);
    }
  }

  // --- faults ---

  /** Hosts die at once: their containers die with them and their connections drop. */
  kill(names: readonly string[]): void {
    for (const name of names) {
      const handle = this.#handle(name);
      if (handle.state === 'dead') continue;
      handle.state = 'dead';
      handle.node.stop();
      this.clock.clearTimeout(handle.heartbeat);
      const link = handle.link;
      handle.link = undefined;
      if (link && this.cluster.disconnect(name, link, this.clock.now())) this.controller.trigger();
    }
  }

  /** A dead host boots again: an empty engine, an agent that dials in. */
  revive(name: string): void {
    const handle = this.#handle(name);
    if (handle.state !== 'dead') return;
    handle.node = this.#newNode(name);
    handle.state = 'up';
    this.#connect(handle);
  }

  /** The network between these nodes and the server drops every message, both ways. */
  partition(names: readonly string[]): void {
    for (const name of names) {
      const handle = this.#handle(name);
      if (handle.state === 'up') handle.state = 'partitioned';
    }
  }

  /** The partition heals; each agent, having given up on the silent server, dials in again. */
  heal(names: readonly string[]): void {
    for (const name of names) {
      const handle = this.#handle(name);
      if (handle.state !== 'partitioned') continue;
      handle.state = 'up';
      // It gave up on the silent server (2 s in) and redials with a backoff of at most 1 s.
      const redialMs = Math.floor(this.random() * 1000);
      this.clock.setTimeout(() => {
        if (handle.state === 'up') this.#connect(handle);
      }, redialMs);
    }
  }

  /** For tests of the checks themselves: the state the invariants read. */
  invariantInput(): Invariants {
    return this.#invariantInput();
  }

  /** The nodes' engines, for scenarios that crash containers. */
  engineOf(name: string): FakeEngine {
    return this.#handle(name).node.engine;
  }

  // --- internals ---

  #newNode(name: string): SimNode {
    const engine = new FakeEngine({
      clock: this.clock,
      random: seededRandom(seedOf(name, this.#options.seed)),
      startDelayMs: this.#options.startDelayMs,
      imageSizeBytes: () => this.#options.imageSizeBytes,
      info: { name, cpuMillicores: this.#options.cpuMillicores, memoryBytes: this.#options.memoryBytes },
    });
    return new SimNode({
      name,
      clusterId: CLUSTER_ID,
      engine,
      clock: this.clock,
      send: (report) => {
        this.#toServer(name, () => this.controller.applyReport(name, report));
        // A report follows new replicas and pulls: the images may have changed.
        this.#sendImages(name);
      },
    });
  }

  /** As agents do: the engine's images (compact: no users), a full list first, then changes only. */
  #sendImages(name: string): void {
    const handle = this.#handle(name);
    const link = handle.link;
    void handle.node.engine.listImages().then((list) => {
      if (handle.link !== link || link === undefined) return;
      const { images, truncated } = reportedImages({ images: list, users: [], pulled: new Map() });
      const first = handle.imagesSent === undefined;
      const delta = imagesDelta(handle.imagesSent ?? new Map(), images);
      if (!first && delta.changed.length === 0 && delta.removed.length === 0) return;
      handle.imagesSent = delta.sent;
      const message: ImagesMessage = first
        ? { type: 'images', full: true, images, removed: [], truncated }
        : { type: 'images', full: false, images: delta.changed, removed: delta.removed, truncated };
      this.#toServer(name, () => this.images.apply(name, message, this.clock.now()));
    });
  }

  #connect(handle: NodeHandle): void {
    const link: AgentLink = {
      send: (message) => this.#toNode(handle, link, message),
      close: () => {
        if (handle.link === link) handle.link = undefined;
      },
    };
    const outcome = this.cluster.connect(handle.registration, link, this.clock.now());
    if (!outcome.ok) this.#fail([`node ${handle.name} refused: ${outcome.reason}`]);
    handle.link = link;
    this.controller.trigger();
    // The welcome arrives; the agent answers with everything it knows and starts heartbeating.
    this.clock.setTimeout(() => {
      if (handle.link !== link || handle.state !== 'up') return;
      const report = handle.node.fullReport();
      this.#toServer(handle.name, () => this.controller.applyReport(handle.name, report));
      handle.imagesSent = undefined;
      this.#sendImages(handle.name);
      this.clock.clearTimeout(handle.heartbeat);
      const beat = () => {
        this.#toServer(handle.name, () => this.cluster.heartbeat(handle.name, this.clock.now()));
        handle.heartbeat = this.clock.setTimeout(beat, this.#options.heartbeatMs);
      };
      handle.heartbeat = this.clock.setTimeout(beat, this.#options.heartbeatMs);
    }, this.#options.latencyMs * 2);
  }

  #toNode(handle: NodeHandle, link: AgentLink, message: ServerMessage): void {
    if (handle.state !== 'up' || handle.link !== link) return;
    this.clock.setTimeout(() => {
      if (handle.state === 'up' && handle.link === link) handle.node.receive(message);
    }, this.#options.latencyMs);
  }

  #toServer(name: string, deliver: () => void): void {
    const handle = this.#handle(name);
    if (handle.state !== 'up') return;
    this.clock.setTimeout(() => {
      // Whatever was in flight when the network went is lost with it.
      if (handle.state !== 'up') return;
      this.cluster.heartbeat(name, this.clock.now());
      deliver();
    }, this.#options.latencyMs);
  }

  #pass(): void {
    this.controller.sync();
    this.#passes++;
    const input = this.#invariantInput();
    const violations = [
      ...this.#controllerErrors.splice(0).map((e) => `the controller failed: ${e.slice(0, 300)}`),
      ...checkInvariants(input),
    ];
    this.trace.push(traceLine(input));
    if (violations.length > 0) this.#fail(violations);
  }

  #invariantInput(): Invariants {
    return {
      now: this.clock.now(),
      services: this.store.listServices(),
      tasks: this.store.listTasks(),
      nodes: this.cluster.list().map((n) => ({ id: n.id, status: n.status })),
      engines: [...this.#nodes.values()].map((h) => ({
        node: h.name,
        reachable: h.state === 'up',
        containers: h.state === 'dead' ? [] : h.node.engine.snapshot(),
      })),
    };
  }

  #handle(name: string): NodeHandle {
    const handle = this.#nodes.get(name);
    if (!handle) throw new RangeError(`no simulated node ${name}`);
    return handle;
  }

  #fail(violations: readonly string[]): never {
    const at = new Date(this.clock.now()).toISOString();
    throw new InvariantViolation(
      `invariant violated at ${at} (pass ${this.#passes}): ${violations.slice(0, 5).join('; ')}` +
        (this.replay ? `\n  replay: ${this.replay}` : ''),
      violations,
    );
  }
}
