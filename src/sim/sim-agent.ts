/**
 * A simulated agent: the real agent protocol over a real WebSocket, and the agent's real converge
 * loop (converger, prober, health tracker, observations) on a fake engine, without a data plane
 * or a data dir. Many of them in one process let a real `skiff server` meet a large cluster on
 * one machine.
 *
 * Why not the real `Agent` class: every agent parses every server message through zod, and a
 * whole endpoints set at 10,000 replicas is a 1.3 MB message that costs ~6 ms to parse, times
 * 1,000 agents: the simulating process would eat the core the measured server needs. This agent
 * holds its endpoints set as the real one does (whole sets, deltas merged into them with the real
 * merge, `endpoints.resync` when a delta does not follow, each generation acknowledged), but the
 * fleet parses each distinct endpoints message once for all its agents (shared-endpoints.ts); it
 * has no proxy or DNS to feed. Everything else is parsed as the real agent does. Its connection handling
 * follows `src/agent/agent.ts` (hello with the protocol version and features, heartbeats at the
 * interval the welcome sets, as pings to a server listing `ping-heartbeat`, pings, reconnects with a backoff capped at 1 s, a full report on
 * welcome).
 */
import WebSocket from 'ws';
import type { LoopReport } from '../agent/converge-loop.ts';
import { ConvergeLoop } from '../agent/converge-loop.ts';
import { ImagePrePuller } from '../agent/image-pre-puller.ts';
import { imagesDelta, reportedImages } from '../agent/image-report.ts';
import { BASE_SERVER_SILENCE_MS, PINGS_PER_SILENCE, ServerBeat } from '../agent/server-silence.ts';
import { StatsSampler } from '../agent/stats-sampler.ts';
import type { UsageSource } from '../agent/stats-usage.ts';
import { AgentTally } from '../metrics/agent-counters.ts';
import { parseAddressPool } from '../model/addressing.ts';
import type { NodeRegistration } from '../model/node.ts';
import type { EndpointSet } from '../net/data-plane/endpoints-delta.ts';
import { EMPTY_ENDPOINT_SET } from '../net/data-plane/endpoints-delta.ts';
import { AGENT_FEATURES, FEATURES, PROTOCOL_VERSION } from '../protocol/features.ts';
import type { AgentMessage, ServerMessage } from '../protocol/messages.ts';
import { AGENT_PATH, serverMessageSchema } from '../protocol/messages.ts';
import { joinCluster, type NodeIdentity } from '../security/node-identity.ts';
import type { FakeEngine } from './fake-engine.ts';
import { SharedEndpoints } from './shared-endpoints.ts';

const AGENT_VERSION = '0.1.0-sim';
/** As the real agent: the handshake's limit; once welcomed, the silence limit follows the cluster. */
const SERVER_SILENCE_MS = BASE_SERVER_SILENCE_MS;
const MAX_BUFFERED_EVENTS = 1000;
const ENDPOINTS_PREFIX = Buffer.from('{"type":"endpoints');
/** Image changes go out at most this often per agent (a rollout's pulls as one message). */
const IMAGES_COALESCE_MS = 1000;

export interface SimAgentOptions {
  readonly serverUrl: string;
  readonly joinToken: string;
  readonly name: string;
  readonly engine: FakeEngine;
  readonly address?: string;
  readonly labels?: Record<string, string>;
  readonly concurrency?: number;
  /** Usage to report every `statsIntervalMs`, as the real agent's sampler does; none: no stats. */
  readonly usage?: UsageSource;
  readonly statsIntervalMs?: number;
  /** Shared by a fleet's agents: each distinct endpoints message parsed once. */
  readonly endpoints?: SharedEndpoints;
  readonly log: (message: string) => void;
}

/** What one agent received, for the bench to show where the bytes went. */
export interface SimAgentCounters {
  messages: number;
  bytes: number;
  /** Whole endpoints sets received, and their bytes. */
  endpointsWhole: number;
  endpointWholeBytes: number;
  /** Endpoint deltas received, and their bytes. */
  endpointDeltas: number;
  endpointDeltaBytes: number;
  /** Deltas that did not follow the held set (the agent asked for the whole set). */
  endpointResyncs: number;
  assignments: number;
  reports: number;
  /** Stats messages sent. */
  stats: number;
  /** `images` messages sent (a full list on welcome, then changes only). */
  images: number;
  /** Connections the server welcomed: more than one per agent means reconnects. */
  connects: number;
}

export class SimAgent {
  readonly #options: SimAgentOptions;
  #registration: NodeRegistration | undefined;
  #socket: WebSocket | undefined;
  #identity: NodeIdentity | undefined;
  #loop: ConvergeLoop | undefined;
  #clusterId: string | undefined;
  #generation = 0;
  /** As the real agent's: the beats, as pings when the welcome lists `ping-heartbeat`. */
  readonly #beat = new ServerBeat(
    () => this.#socket,
    () => this.#send({ type: 'heartbeat' }),
  );
  #pendingEvents: LoopReport['events'] = [];
  #metricsTimer: NodeJS.Timeout | undefined;
  #sendMetrics: (() => void) | undefined;
  /** As the real agent: its counters go to the server every 5 s. */
  readonly #tally = new AgentTally();
  #liveness: NodeJS.Timeout | undefined;
  #retryDelayMs = 250;
  #stopped = false;
  /** Welcomed on the current connection. */
  registered = false;
  /** When the last assignment arrived (epoch ms with a fraction, as the bench's traces take it). */
  lastAssignedAt: number | undefined;
  readonly counters: SimAgentCounters = {
    messages: 0,
    bytes: 0,
    endpointsWhole: 0,
    endpointWholeBytes: 0,
    endpointDeltas: 0,
    endpointDeltaBytes: 0,
    endpointResyncs: 0,
    assignments: 0,
    reports: 0,
    stats: 0,
    images: 0,
    connects: 0,
  };
  /** What the server was last sent of this engine's images (by id), while it reads them. */
  #imagesSent: Map<string, string> | undefined;
  #imagesTimer: NodeJS.Timeout | undefined;
  readonly #stats: StatsSampler | undefined;
  /** As the real agent's, on the fake engine: rollouts' pull phases run here too. */
  readonly #prePuller: ImagePrePuller;
  readonly #shared: SharedEndpoints;
  #endpoints: EndpointSet = EMPTY_ENDPOINT_SET;

  constructor(options: SimAgentOptions) {
    this.#options = options;
    this.#shared = options.endpoints ?? new SharedEndpoints();
    this.#prePuller = new ImagePrePuller({
      engine: options.engine,
      send: (message) => this.#send(message),
      record: (event) => this.#loop?.recordEvent(event),
      tally: this.#tally,
    });
    const usage = options.usage;
    this.#stats =
      usage && options.statsIntervalMs
        ? new StatsSampler({
            usage,
            containers: () => this.#loop?.runningContainers() ?? [],
            intervalMs: options.statsIntervalMs,
            // Out of step with the others, as real agents are: a fleet welcomed together would send in bursts.
            firstRoundAfterMs: () => Math.random() * (options.statsIntervalMs ?? 0),
            send: (message) => {
              if (this.#send(message)) this.counters.stats++;
            },
            now: Date.now,
            onError: (error) => options.log(`${this.name}: stats: ${String(error)}`),
          })
        : undefined;
  }

  get name(): string {
    return this.#options.name;
  }

  get engine(): FakeEngine {
    return this.#options.engine;
  }

  async start(): Promise<void> {
    const info = await this.#options.engine.info();
    this.#registration = {
      name: this.#options.name,
      engine_id: info.id,
      address: this.#options.address ?? '127.0.0.1',
      labels: this.#options.labels ?? {},
      cpu_millicores: info.cpuMillicores,
      memory_bytes: info.memoryBytes,
      engine_version: info.version,
    };
    this.#connect();
  }

  /** Stops as a host that dies: the connection drops (no close handshake), nothing runs on. */
  kill(): void {
    this.#stopped = true;
    this.#halt();
    this.#socket?.terminate();
  }

  /** Stops politely (a close frame), as `skiff agent` does on SIGTERM. */
  stop(): void {
    this.#stopped = true;
    this.#halt();
    this.#socket?.close(1000, 'agent stopping');
  }

  #halt(): void {
    this.#stats?.stop();
    clearTimeout(this.#imagesTimer);
    this.#imagesSent = undefined;
    this.#beat.stop();
    clearInterval(this.#metricsTimer);
    clearInterval(this.#liveness);
    this.#loop?.stop();
    this.registered = false;
  }

  #connect(): void {
    if (this.#stopped) return;
    if (!this.#identity) {
      // Joined as a real agent joins (node certificate, kept in memory), once.
      joinCluster({
        serverUrl: this.#options.serverUrl,
        token: this.#options.joinToken,
        nodeName: this.#options.name,
        dataDir: undefined,
      }).then(
        (identity) => {
          this.#identity = identity;
          this.#connect();
        },
        (error: unknown) => {
          this.#options.log(`${this.#options.name}: join: ${String(error)}`);
          setTimeout(() => this.#connect(), this.#retryDelayMs);
        },
      );
      return;
    }
    const identity = this.#identity;
    const url = new URL(AGENT_PATH, this.#options.serverUrl.replace(/^https?/, 'wss'));
    const socket = new WebSocket(url, {
      ca: identity.caPem,
      cert: identity.certPem,
      key: identity.keyPem,
      handshakeTimeout: SERVER_SILENCE_MS * 5,
    });
    this.#socket = socket;
    // A new connection starts with the whole set: deltas follow what this one was sent.
    this.#endpoints = EMPTY_ENDPOINT_SET;
    let lastHeard = Date.now();
    this.#beat.reset();
    clearInterval(this.#liveness);
    this.#liveness = setInterval(() => {
      const action = this.#beat.action(Date.now(), lastHeard);
      if (action === 'drop') socket.terminate();
      else if (action === 'ping') this.#beat.ping(socket);
    }, SERVER_SILENCE_MS / PINGS_PER_SILENCE);
    socket.on('pong', () => {
      lastHeard = Date.now();
    });
    socket.on('open', () => {
      lastHeard = Date.now();
      this.#retryDelayMs = 250;
      if (this.#registration)
        this.#send({
          type: 'hello',
          node: this.#registration,
          agent_version: AGENT_VERSION,
          cluster_id: this.#clusterId ?? null,
          protocol_version: PROTOCOL_VERSION,
          // Not node-probe: a simulated host has no ports another could connect to.
          // Neither probes nor prepared replicas are simulated: this agent does not claim them.
          features: AGENT_FEATURES.filter((f) => f !== FEATURES.nodeProbe && f !== FEATURES.preparedReplicas),
        });
    });
    socket.on('message', (data: Buffer) => {
      lastHeard = Date.now();
      this.#receive(data);
    });
    socket.on('error', (error) => this.#options.log(`${this.name}: server connection: ${error.message}`));
    socket.on('close', () => {
      this.#beat.stop();
      clearInterval(this.#metricsTimer);
      this.#stats?.stop();
      clearTimeout(this.#imagesTimer);
      this.#imagesTimer = undefined;
      this.#imagesSent = undefined;
      this.registered = false;
      if (this.#socket === socket) this.#socket = undefined;
      if (this.#stopped) return;
      setTimeout(() => this.#connect(), this.#retryDelayMs);
      this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, 1000);
    });
  }

  #receive(data: Buffer): void {
    this.counters.messages++;
    this.counters.bytes += data.length;
    if (data.subarray(0, ENDPOINTS_PREFIX.length).equals(ENDPOINTS_PREFIX)) {
      this.#receiveEndpoints(data);
      return;
    }
    let message: ServerMessage;
    try {
      message = serverMessageSchema.parse(JSON.parse(data.toString('utf8')));
    } catch (error) {
      this.#options.log(`${this.name}: ignoring a malformed server message: ${String(error).slice(0, 200)}`);
      return;
    }
    switch (message.type) {
      case 'welcome': {
        if (this.#clusterId !== undefined && this.#clusterId !== message.cluster_id) {
          this.#options.log(`${this.name}: the server belongs to another cluster; refusing`);
          this.#socket?.close(1000, 'cluster mismatch');
          return;
        }
        this.#startLoop(message.cluster_id, message.address_pool);
        this.registered = true;
        this.counters.connects++;
        this.#beat.welcomed(
          message.heartbeat_interval_ms,
          message.features?.includes(FEATURES.pingHeartbeat) === true ? 'pings' : 'heartbeats',
        );
        clearInterval(this.#metricsTimer);
        this.#metricsTimer = undefined;
        // A large cluster's server asks for fewer stats and metrics (stats-cadence.ts on the server).
        this.#stats?.setInterval(message.stats_interval_ms);
        if (message.features?.includes(FEATURES.agentMetrics)) {
          const sendMetrics = () => {
            const { counters, histograms } = this.#tally.snapshot();
            this.#send({ type: 'agent.metrics', counters: [...counters], histograms: [...histograms] });
          };
          this.#sendMetrics = sendMetrics;
          this.#metricsTimer = setInterval(sendMetrics, Math.max(5000, message.stats_interval_ms ?? 0));
          sendMetrics();
        }
        const full = this.#loop?.fullReport();
        if (full) this.#sendReport(full);
        if (message.features?.includes(FEATURES.stats)) this.#stats?.start();
        if (message.features?.includes(FEATURES.images)) {
          this.#imagesSent = undefined;
          void this.#reportImages();
        }
        return;
      }
      case 'heartbeat.interval':
        this.#beat.beatEvery(message.heartbeat_interval_ms);
        if (message.stats_interval_ms !== undefined) {
          this.#stats?.setInterval(message.stats_interval_ms);
          if (this.#metricsTimer && this.#sendMetrics) {
            clearInterval(this.#metricsTimer);
            this.#metricsTimer = setInterval(this.#sendMetrics, Math.max(5000, message.stats_interval_ms));
          }
        }
        return;
      case 'images.prune':
        // A simulated engine's images are what its replicas run: nothing to remove.
        this.#send({ type: 'images.pruned', request_id: message.request_id, removed: [], error: null });
        return;
      case 'assign':
        this.counters.assignments++;
        this.lastAssignedAt = performance.timeOrigin + performance.now();
        this.#generation = message.generation;
        this.#loop?.setDesired(message.tasks, { fromServer: true });
        return;
      case 'endpoints':
        return;
      case 'logs.start':
        this.#send({ type: 'logs.end', request_id: message.request_id, error: null });
        return;
      case 'logs.cancel':
        return;
      case 'image.pull':
        void this.#prePuller.pull(message.request_id, message.service, message.image, message.registry_auth);
        return;
    }
  }

  /** As the real agent: a whole set replaces the held one, a delta is merged into it, each acknowledged. */
  #receiveEndpoints(data: Buffer): void {
    let message: ReturnType<SharedEndpoints['read']>;
    try {
      message = this.#shared.read(data);
    } catch (error) {
      this.#options.log(
        `${this.name}: ignoring a malformed endpoints message: ${String(error).slice(0, 200)}`,
      );
      return;
    }
    if (!message) return;
    if (message.type === 'endpoints') {
      this.counters.endpointsWhole++;
      this.counters.endpointWholeBytes += data.length;
    } else {
      this.counters.endpointDeltas++;
      this.counters.endpointDeltaBytes += data.length;
    }
    const outcome = this.#shared.apply(this.#endpoints, message);
    if (outcome.kind === 'resync') {
      this.counters.endpointResyncs++;
      this.#send({ type: 'endpoints.resync' });
      return;
    }
    this.#endpoints = outcome.set;
    // Acknowledged once applied, as the real agent does: freed addresses return to the pool.
    if (outcome.set.generation !== undefined)
      this.#send({ type: 'endpoints.ack', generation: outcome.set.generation });
  }

  #startLoop(clusterId: string, addressPool: string): void {
    if (this.#loop) return;
    this.#clusterId = clusterId;
    this.#loop = new ConvergeLoop({
      engine: this.#options.engine,
      clusterId,
      pool: parseAddressPool(addressPool),
      nodeId: this.name,
      concurrency: this.#options.concurrency ?? 8,
      resyncIntervalMs: 5000,
      stableAfterMs: 10_000,
      now: Date.now,
      tally: this.#tally,
      onReport: (report) => this.#sendReport(report),
      onError: (error) =>
        this.#options.log(
          `${this.name}: converge: ${error instanceof Error ? error.message : String(error)}`,
        ),
    });
    this.#loop.start();
  }

  #sendReport(report: LoopReport): void {
    const events = [...this.#pendingEvents, ...report.events].slice(-MAX_BUFFERED_EVENTS);
    const sent = this.#send({
      type: 'report',
      generation: this.#generation,
      full: report.full,
      tasks: report.tasks,
      removed: report.removed,
      events,
    });
    if (sent) this.counters.reports++;
    this.#pendingEvents = sent ? [] : events;
    // A report follows pulls and new replicas: the images may have changed; looked at once a second at most.
    if (this.#imagesSent !== undefined && this.#imagesTimer === undefined)
      this.#imagesTimer = setTimeout(() => {
        this.#imagesTimer = undefined;
        void this.#reportImages();
      }, IMAGES_COALESCE_MS);
  }

  /**
   * The engine's images as a real agent reports them, changes only: a compact list (names, ids,
   * sizes; no users, which churn with every replica) so a thousand agents stay cheap.
   */
  async #reportImages(): Promise<void> {
    const list = await this.#options.engine.listImages();
    const { images, truncated } = reportedImages({ images: list, users: [], pulled: new Map() });
    const first = this.#imagesSent === undefined;
    const delta = imagesDelta(this.#imagesSent ?? new Map(), images);
    if (!first && delta.changed.length === 0 && delta.removed.length === 0) return;
    const sent = this.#send(
      first
        ? { type: 'images', full: true, images, removed: [], truncated }
        : { type: 'images', full: false, images: delta.changed, removed: delta.removed, truncated },
    );
    if (!sent) return;
    this.counters.images++;
    this.#imagesSent = delta.sent;
  }

  #send(message: AgentMessage): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }
}
