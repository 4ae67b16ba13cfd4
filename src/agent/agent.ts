/**
 * The agent process: joins the cluster once with the join token (a node certificate,
 * src/security/node-identity.ts), dials the server's WebSocket over mutual TLS with that
 * certificate (renewed before it expires), registers its node with
 * the capacity its engine reports, heartbeats, hands each assignment to the converge loop and
 * reports back. While the server is away it keeps converging from its saved assignment and
 * buffers its reports; on reconnect it sends a full report and the buffered events.
 *
 * It knows every server (`--server URL1,URL2,URL3`): only the leader keeps agents, a follower
 * names the leader when it closes, and a server that is gone makes the agent try the next
 * (server-choice.ts). Its node identity and containers do not depend on which server it reaches.
 *
 * Before it runs anything it checks the host's addresses and routes against the cluster's address
 * pool (from the welcome, or the saved assignment): a host that overlaps it refuses, says why in
 * its log and as a node event, and looks at its host again before dialling again.
 */

import { existsSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { buildInfo } from '../build/build-info.ts';
import type { ContainerEngine } from '../docker/container-engine.ts';
import { engineOnThisHost } from '../docker/engine-address.ts';
import type { ImageEngine } from '../docker/image-engine.ts';
import { AgentTally } from '../metrics/agent-counters.ts';
import type { AddressPool, ClusterAddressing } from '../model/addressing.ts';
import { parseAddressPool } from '../model/addressing.ts';
import type { NodeRegistration } from '../model/node.ts';
import { DataPlane } from '../net/data-plane/data-plane.ts';
import type { EndpointSet } from '../net/data-plane/endpoints-delta.ts';
import { EMPTY_ENDPOINT_SET, fullSet, mergeEndpoints } from '../net/data-plane/endpoints-delta.ts';
import { HaproxyUnavailableError } from '../net/haproxy/haproxy-errors.ts';
import { detectHaproxy } from '../net/haproxy/haproxy-process.ts';
import { AGENT_FEATURES, FEATURES, PROTOCOL_VERSION } from '../protocol/features.ts';
import type { AgentMessage, ServerMessage } from '../protocol/messages.ts';
import { AGENT_PATH, CLOSE_CODES } from '../protocol/messages.ts';
import { readServerMessage } from '../protocol/read-message.ts';
import { agentTlsOptions } from '../security/agent-tls.ts';
import type { NodeIdentity } from '../security/node-identity.ts';
import { loadAssignment, saveAssignment } from './assignment-file.ts';
import type { ConnectRace } from './connect-race.ts';
import { raceConnect } from './connect-race.ts';
import { connectedLine } from './connect-timing.ts';
import type { LoopReport } from './converge-loop.ts';
import { ConvergeLoop } from './converge-loop.ts';
import { ExecSessions } from './exec-sessions.ts';
import { readHostNetworks } from './host-networks.ts';
import { ImageKeeper, recordPulls } from './image-gc.ts';
import type { ImageGcThresholds } from './image-gc-selection.ts';
import { ImagePrePuller } from './image-pre-puller.ts';
import { NodeCertificate } from './node-certificate.ts';
import { probeNode } from './node-probe.ts';
import type { HostNetworks } from './pool-overlap.ts';
import { overlapProblem, poolOverlaps } from './pool-overlap.ts';
import { PreparedReplicas } from './prepared-replicas.ts';
import { publishAddress, publishAddressWarning } from './publish-address.ts';
import { reconnectDelayMs } from './reconnect-delay.ts';
import { restoredHoldMs } from './restored-hold.ts';
import { secretsRefusal, withoutSecretValues } from './secret-files.ts';
import type { DialOutcome, ServerChoice } from './server-choice.ts';
import { currentServer, dialUrl, firstChoice, nextChoice } from './server-choice.ts';
import { BASE_SERVER_SILENCE_MS, PINGS_PER_SILENCE, ServerBeat } from './server-silence.ts';
import { DEFAULT_STATS_INTERVAL_MS, StatsSampler } from './stats-sampler.ts';
import type { UsageSource } from './stats-usage.ts';
import { AgentTlsSessions } from './tls-sessions.ts';

/** The handshake's limit; once welcomed, the server's silence limit follows the cluster (server-silence.ts). */
const SERVER_SILENCE_MS = BASE_SERVER_SILENCE_MS;
/** How often the liveness timer looks (a local timer: the pings it sends are paced by the limit). */
const LIVENESS_TICK_MS = BASE_SERVER_SILENCE_MS / PINGS_PER_SILENCE;
/** While a dial's SYNs go unanswered, a fresh one this often (connect-race.ts). */
const CONNECT_ATTEMPT_EVERY_MS = 250;
/** Events kept while the server is unreachable; the oldest go first. */
const MAX_BUFFERED_EVENTS = 1000;
/** How often the agent's counters go to the server (each message is the whole snapshot). */
const METRICS_INTERVAL_MS = 5000;
/** How often a host that overlaps the pool looks at its networks again before dialling. */
const POOL_RECHECK_MS = 10_000;

export interface AgentOptions {
  /** Every server of the cluster; the agent settles on the leader. */
  readonly serverUrls: readonly string[];
  /** Needed only until the agent holds a node certificate (its data dir keeps it). */
  readonly joinToken?: string | undefined;
  readonly engine: ContainerEngine;
  readonly name?: string;
  readonly address?: string;
  readonly labels?: Record<string, string>;
  /** Declared capacity, overriding what the engine reports (e.g. to keep room for the host). */
  readonly cpuMillicores?: number;
  readonly memoryBytes?: number;
  readonly dataDir: string;
  readonly concurrency?: number;
  /** False for a simulated agent (src/sim): endpoints are ignored, so no networks, VIPs, DNS or proxy. */
  readonly dataPlane?: boolean;
  /** Where secret and config files are written for replicas (a tmpfs; default /run/skiff/secrets). */
  readonly secretsDir?: string;
  /** Where replicas' and the host's resource usage is read; without one the agent sends no stats. */
  readonly usage?: UsageSource;
  /** `--stats-interval` (default 5 s). */
  readonly statsIntervalMs?: number;
  /** `--pull-concurrency` (default 3): image pulls at once on this node. */
  readonly pullConcurrency?: number;
  /** `--pull-timeout` (default 5 min). */
  readonly pullTimeoutMs?: number;
  /**
   * Where the engine is (`DockerEngine.address`): one on another host cannot mount this host's
   * secret files, so the agent then does not offer them (secret-files.ts). Unset: on this host.
   */
  readonly engineAddress?: string;
  /**
   * The engine's images: reported to the server (image locality, `skiff image ls`) and collected
   * past the high-water mark (image-gc.ts). Without it the agent neither reports nor collects.
   */
  readonly images?: ImageEngine;
  /** `--image-gc-high-threshold`, `--image-gc-low-threshold`, `--image-gc-min-age`, `--image-gc-interval`. */
  readonly imageGc?: { readonly thresholds?: ImageGcThresholds; readonly intervalMs?: number };
  /**
   * `--http-proxy`: who serves `app_protocol: http` routes — the agent's own HAProxy, the
   * built-in proxy, or (auto, the default) HAProxy when the host has a usable one.
   */
  readonly httpProxy?: HttpProxyChoice;
  readonly log: (message: string) => void;
}

export type HttpProxyChoice = 'builtin' | 'haproxy' | 'auto';

/**
 * What an agent offers in its hello: everything, except secret files when it cannot mount them
 * and images when it does not keep them.
 */
export function offeredFeatures(refusal: string | undefined, keepsImages = true): string[] {
  return AGENT_FEATURES.filter(
    (feature) =>
      (refusal === undefined || feature !== FEATURES.secretFiles) &&
      (keepsImages || feature !== FEATURES.images),
  );
}

export class Agent {
  readonly #options: AgentOptions;
  /** Why replicas here cannot have secrets or configs (a remote engine), if so. */
  readonly #secretsRefusal: string | undefined;
  #registration: NodeRegistration | undefined;
  #socket: WebSocket | undefined;
  #loop: ConvergeLoop | undefined;
  /** Replicas held created for another node's failover (prepared-replicas.ts). */
  #prepared: PreparedReplicas | undefined;
  /** DNS, VIPs and the service proxy of this host. */
  #dataPlane: DataPlane | undefined;
  #clusterId: string | undefined;
  #pool: AddressPool | undefined;
  /** The host's networks as read before the latest dial (the welcome is checked against them). */
  #host: HostNetworks = { addresses: [], routes: [] };
  #hostReadAt = 0;
  /** Set while the host overlaps the pool: the cluster it was refused for and why. */
  #refused: { readonly cluster: ClusterAddressing; readonly problem: string } | undefined;
  #generation = 0;
  /** Set when HAProxy serves the HTTP routes (resolved from `httpProxy` at start). */
  #haproxy: { readonly fallback: boolean } | undefined;
  /** The beats to the current server, and how long it may be silent (server-silence.ts). */
  readonly #beat = new ServerBeat(
    () => this.#socket,
    () => this.#send({ type: 'heartbeat' }),
  );
  /** The endpoints set of the current connection, which deltas are merged into (data plane or not). */
  #endpoints: EndpointSet = EMPTY_ENDPOINT_SET;
  #pendingEvents: LoopReport['events'] = [];
  #metricsTimer: NodeJS.Timeout | undefined;
  #sendMetrics: (() => void) | undefined;
  /** Exits, restarts, probes, pulls and proxied requests, for the server's metrics. */
  readonly #tally = new AgentTally();
  /** Dial failures in a row, by kind (reconnect-delay.ts). */
  #drops = 0;
  #refusals = 0;
  /** Set when this agent turns the server away itself (welcome from another cluster). */
  #refusingServer: string | undefined;
  #stopped = false;
  readonly #logStreams = new Map<string, AbortController>();
  readonly #execs: ExecSessions;
  readonly #prePuller: ImagePrePuller;
  #certificate: NodeCertificate | undefined;
  /** Runs while connected to a server that reads stats (its welcome lists the feature). */
  readonly #stats: StatsSampler | undefined;
  #choice: ServerChoice;
  /** Reports the engine's images and collects Skiff's unused ones (image-gc.ts). */
  readonly #images: ImageKeeper | undefined;
  /** The connected server reads `volumes` reports (its welcome lists the feature). */
  #serverReadsVolumes = false;
  /** The TCP half of a dial in flight. */
  #race: ConnectRace | undefined;
  /** TLS context and sessions kept across dials (tls-sessions.ts). */
  readonly #tls = new AgentTlsSessions();
  /** The connection a server welcomed us on (it served us, rather than held us). */
  #welcomedOn: WebSocket | undefined;

  constructor(options: AgentOptions) {
    const images = options.images;
    this.#images = images
      ? new ImageKeeper({
          images,
          dataDir: options.dataDir,
          ...(options.imageGc?.thresholds ? { thresholds: options.imageGc.thresholds } : {}),
          ...(options.imageGc?.intervalMs ? { intervalMs: options.imageGc.intervalMs } : {}),
          desiredImages: () => this.#loop?.desiredImages(),
          now: Date.now,
          onEvent: (event) => this.#loop?.recordEvent(event),
          // A replica rolled back to a removed image must pull it, not trust the loop's memory.
          onRemoved: () => this.#loop?.forgetPresentImages(),
          log: options.log,
        })
      : undefined;
    // Every pull through the engine, whoever makes it, is recorded as Skiff's (pulled-images.ts).
    this.#options = this.#images
      ? { ...options, engine: recordPulls(options.engine, (reference) => this.#images?.pulled(reference)) }
      : options;
    const usage = options.usage;
    this.#stats = usage
      ? new StatsSampler({
          usage,
          containers: () => this.#loop?.runningContainers() ?? [],
          intervalMs: options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS,
          // Out of step with other agents: see firstRoundAfterMs.
          firstRoundAfterMs: () => Math.random() * (options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS),
          send: (message) => this.#send(message),
          now: Date.now,
          onError: (error) => options.log(`stats: ${error instanceof Error ? error.message : String(error)}`),
        })
      : undefined;
    this.#execs = new ExecSessions({
      engine: options.engine,
      send: (message) => this.#send(message),
      runningContainer: (taskId) => {
        const container = this.#loop?.containerOf(taskId);
        return container?.state === 'running' ? container.id : undefined;
      },
    });
    this.#prePuller = new ImagePrePuller({
      // The recording engine: a pre-pulled image is one Skiff pulled (image GC may collect it later).
      engine: this.#options.engine,
      send: (message) => this.#send(message),
      record: (event) => this.#loop?.recordEvent(event),
      tally: this.#tally,
    });
    this.#secretsRefusal =
      options.engineAddress === undefined ? undefined : secretsRefusal(options.engineAddress);
    this.#choice = firstChoice(options.serverUrls);
  }

  /** Who serves `app_protocol: http` routes now (after an `auto` fallback, the built-in proxy). */
  get httpProxy(): 'builtin' | 'haproxy' {
    return this.#dataPlane?.httpProxy ?? (this.#haproxy === undefined ? 'builtin' : 'haproxy');
  }

  /** Whether HAProxy serves HTTP routes (`--http-proxy`), settled at start; `auto` falls back. */
  async #resolveHttpProxy(): Promise<{ readonly fallback: boolean } | undefined> {
    const choice = this.#options.httpProxy ?? 'auto';
    if (choice === 'builtin' || this.#options.dataPlane === false) return undefined;
    const found = await detectHaproxy();
    if ('problem' in found) {
      if (choice === 'haproxy') throw new HaproxyUnavailableError(`--http-proxy haproxy: ${found.problem}`);
      this.#options.log(`http proxy: built-in (${found.problem})`);
      return undefined;
    }
    this.#options.log(
      `http proxy: haproxy ${found.version} (its own process, in ${join(this.#options.dataDir, 'haproxy')})`,
    );
    return { fallback: choice === 'auto' };
  }

  /** The server dialled now (the leader, once a follower named it). */
  get serverUrl(): string {
    return currentServer(this.#choice);
  }

  async start(): Promise<void> {
    this.#haproxy = await this.#resolveHttpProxy();
    const info = await this.#options.engine.info();
    this.#registration = {
      // Node names are DNS labels (they name certificates): the host name's first label.
      name: this.#options.name ?? defaultNodeName(hostname()),
      engine_id: info.id,
      address: this.#options.address ?? '127.0.0.1',
      labels: this.#options.labels ?? {},
      cpu_millicores: this.#options.cpuMillicores ?? info.cpuMillicores,
      memory_bytes: this.#options.memoryBytes ?? info.memoryBytes,
      engine_version: info.version,
    };
    await this.#readHost();
    if (this.#secretsRefusal !== undefined) {
      this.#options.log(`warning: ${this.#secretsRefusal}`);
      // Sent with the first report: `skiff events` says why this node gets no replica using secrets.
      this.#pendingEvents.push({
        type: 'node',
        service: null,
        container: null,
        node: this.#registration.name,
        message: `Node ${this.#registration.name}: ${this.#secretsRefusal}`,
        at: Date.now(),
      });
    }
    this.#certificate = new NodeCertificate({
      server: () => this.serverUrl,
      joinToken: this.#options.joinToken,
      nodeName: this.#registration.name,
      dataDir: this.#options.dataDir,
      log: this.#options.log,
    });
    const saved = loadAssignment(this.#options.dataDir, this.#options.log);
    const savedPool = saved ? parsePoolOrUndefined(saved.address_pool) : undefined;
    if (saved && savedPool) {
      const cluster = { clusterId: saved.cluster_id, pool: savedPool };
      if (this.#poolProblem(cluster) === undefined) {
        this.#startLoop(cluster);
        this.#generation = saved.generation;
        // What still runs is kept; what does not waits for the server's own assignment, which
        // may have moved it elsewhere while this node was away (restored-hold.ts).
        const holdMs = restoredHoldMs(saved.heartbeat_interval_ms);
        this.#loop?.setDesired(saved.tasks, { fromServer: false, holdStartsForMs: holdMs });
        this.#options.log(
          `restored assignment ${saved.generation} (${saved.tasks.length} tasks) from disk; replicas not running wait up to ${holdMs} ms for the server's assignment`,
        );
      }
    }
    this.#images?.start();
    this.#connect();
  }

  /** The overlap of this host with a cluster's pool (logged once), or undefined when there is none. */
  #poolProblem(cluster: ClusterAddressing): string | undefined {
    // A simulated agent (no data plane, a fake engine) puts nothing on this host's network.
    if (this.#options.dataPlane === false) return undefined;
    const overlaps = poolOverlaps(this.#host, cluster);
    if (overlaps.length === 0) {
      if (this.#refused)
        this.#options.log(`this host no longer overlaps the address pool ${cluster.pool.cidr}`);
      this.#refused = undefined;
      return undefined;
    }
    const problem = overlapProblem(overlaps, cluster);
    if (this.#refused?.problem !== problem) this.#options.log(`error: ${problem}`);
    this.#refused = { cluster, problem };
    return problem;
  }

  async #readHost(): Promise<void> {
    if (this.#options.dataPlane === false) return;
    this.#host = await readHostNetworks(this.#options.log);
    this.#hostReadAt = Date.now();
  }

  /**
   * Dials once the host is checked again (while refused, only once it no longer overlaps). The
   * host's networks are re-read at most every POOL_RECHECK_MS: redials come every second while
   * the server is away.
   */
  async #dial(): Promise<void> {
    if (this.#stopped) return;
    if (this.#refused || Date.now() - this.#hostReadAt >= POOL_RECHECK_MS) await this.#readHost();
    const refused = this.#refused;
    if (refused && this.#poolProblem(refused.cluster) !== undefined) {
      setTimeout(() => void this.#dial(), POOL_RECHECK_MS);
      return;
    }
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    this.#certificate?.stop();
    this.#beat.stop();
    clearInterval(this.#metricsTimer);
    this.#stats?.stop();
    this.#images?.stop();
    this.#loop?.stop();
    this.#prepared?.stop();
    void this.#dataPlane?.stop();
    for (const controller of this.#logStreams.values()) controller.abort();
    this.#execs.cancelAll();
    this.#race?.cancel();
    this.#socket?.close(1000, 'agent stopping');
  }

  #connect(): void {
    if (this.#stopped) return;
    const certificate = this.#certificate;
    if (!certificate) throw new Error('agent connecting before start');
    certificate.current().then(
      (identity) => this.#open(identity),
      (error: unknown) => {
        if (this.#stopped) return;
        this.#drops += 1;
        this.#options.log(
          `joining the cluster at ${this.serverUrl}: ${error instanceof Error ? error.message : String(error)}`,
        );
        // Another server may be up (it shares the CA): try it next, as a dial would.
        this.#choice = nextChoice(this.#choice, { kind: 'failed' }).choice;
        setTimeout(() => this.#connect(), reconnectDelayMs('refused', this.#drops));
      },
    );
  }

  #open(identity: NodeIdentity): void {
    if (this.#stopped) return;
    // wss:// even for an http:// URL (the port speaks TLS to anyone, and agents only over TLS);
    // `?unreachable=` names the server that just failed (server-choice.ts).
    const url = dialUrl(this.#choice, AGENT_PATH);
    url.protocol = 'wss:';
    // The TCP half first, with fresh SYNs at a quick pace while unanswered (connect-race.ts).
    const race = raceConnect({
      dial: () => netConnect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) }),
      attemptEveryMs: CONNECT_ATTEMPT_EVERY_MS,
      giveUpAfterMs: SERVER_SILENCE_MS,
    });
    this.#race = race;
    const dialledAt = Date.now();
    race.socket.then(
      (tcp) => {
        if (this.#race === race) this.#race = undefined;
        if (this.#stopped) tcp.destroy();
        else this.#openOn(tcp, identity, url, { dialledAt, connectedAt: Date.now() });
      },
      (error: unknown) => {
        if (this.#race === race) this.#race = undefined;
        if (this.#stopped) return;
        this.#options.log(`server connection: ${error instanceof Error ? error.message : String(error)}`);
        this.#redial({ kind: 'failed', waitedMs: Date.now() - dialledAt });
      },
    );
  }

  /** The WebSocket over mutual TLS on a connected TCP socket, resuming the server's last session. */
  #openOn(
    tcp: Socket,
    identity: NodeIdentity,
    url: URL,
    timing: { readonly dialledAt: number; readonly connectedAt: number },
  ): void {
    const tls = this.#tls.for(identity);
    const server = url.host;
    const options = {
      // ws hands these to tls.connect as they are (its typings lack servername, and give
      // checkServerIdentity node:tls's job with a boolean answer).
      ...agentTlsOptions(url),
      secureContext: tls.context,
      handshakeTimeout: SERVER_SILENCE_MS,
      createConnection: (connectOptions: ConnectionOptions) => {
        const secure = tlsConnect({ ...connectOptions, socket: tcp, session: tls.session(server) });
        secure.on('session', (session: Buffer) => tls.remember(server, session));
        // What the link's TLS costs a (re)connect, beside the TCP half (bench:failover reads it).
        secure.once('secureConnect', () =>
          this.#options.log(
            connectedLine({
              server,
              tcpMs: timing.connectedAt - timing.dialledAt,
              tlsMs: Date.now() - timing.connectedAt,
              resumed: secure.isSessionReused(),
            }),
          ),
        );
        // A failed handshake may be the session's fault (a server whose ticket keys changed
        // answers with a full handshake instead, but be sure): the next dial starts afresh.
        secure.once('error', () => tls.forget(server));
        return secure;
      },
    };
    const socket = new WebSocket(url, options as unknown as WebSocket.ClientOptions);
    socket.on('unexpected-response', (request, response) => {
      response.resume();
      if (response.statusCode === 401) this.#certificate?.refused();
      this.#options.log(`the server refused this node's certificate (${response.statusCode})`);
      request.destroy();
      socket.terminate();
    });
    this.#socket = socket;
    // A new connection starts with the whole set: deltas follow what this one was sent.
    this.#endpoints = EMPTY_ENDPOINT_SET;
    // A connection that went quiet (a partition) can take many seconds of TCP retransmission
    // backoff to come back after the network does; a fresh connection is up at once. So the
    // agent pings, and drops a connection the server has not answered for a while.
    let lastHeard = Date.now();
    this.#beat.reset();
    const liveness = setInterval(() => {
      const action = this.#beat.action(Date.now(), lastHeard);
      if (action === 'drop') socket.terminate();
      else if (action === 'ping') this.#beat.ping(socket);
    }, LIVENESS_TICK_MS);
    socket.on('pong', () => {
      lastHeard = Date.now();
    });
    socket.on('open', () => {
      lastHeard = Date.now();
      this.#drops = 0;
      if (this.#registration)
        this.#send({
          type: 'hello',
          node: this.#registration,
          agent_version: buildInfo().version,
          cluster_id: this.#clusterId ?? null,
          protocol_version: PROTOCOL_VERSION,
          features: offeredFeatures(this.#secretsRefusal, this.#images !== undefined),
        });
    });
    socket.on('message', (data) => {
      lastHeard = Date.now();
      this.#receive(String(data));
    });
    socket.on('error', (error) => this.#options.log(`server connection: ${error.message}`));
    socket.on('close', (code, reason) => {
      clearInterval(liveness);
      this.#beat.stop();
      clearInterval(this.#metricsTimer);
      this.#stats?.stop();
      this.#images?.disconnected();
      if (this.#socket === socket) this.#socket = undefined;
      this.#execs.cancelAll();
      if (this.#stopped) return;
      const refusal =
        this.#refusingServer ??
        (code === CLOSE_CODES.clusterMismatch || code === CLOSE_CODES.protocolUnsupported
          ? String(reason)
          : undefined);
      this.#refusingServer = undefined;
      if (refusal !== undefined) {
        this.#refusals += 1;
        // Once per episode: the retries that follow would only repeat it.
        if (this.#refusals === 1)
          this.#options.log(
            code === CLOSE_CODES.protocolUnsupported
              ? `the server at ${this.serverUrl} refused this agent: ${refusal} (this agent speaks protocol ${PROTOCOL_VERSION}). Upgrade servers first, then agents, one release at a time; until then this agent keeps running what it was assigned and retries every 30 s at most.`
              : this.#refusalAdvice(refusal),
          );
        setTimeout(() => void this.#dial(), reconnectDelayMs('refused', this.#refusals));
        return;
      }
      if (code === CLOSE_CODES.nameConflict || code === CLOSE_CODES.identityMismatch)
        this.#options.log(`server refused this node: ${String(reason)}`);
      const outcome: DialOutcome =
        code === CLOSE_CODES.notLeader && URL.canParse(String(reason))
          ? { kind: 'redirected', leaderUrl: String(reason) }
          : code === CLOSE_CODES.noLeader
            ? { kind: 'no-leader', served: this.#welcomedOn === socket }
            : { kind: 'failed' };
      this.#redial(outcome);
    });
  }

  /** After a dial or a connection ends: the next server (server-choice.ts), after its delay. */
  #redial(outcome: DialOutcome): void {
    const from = this.serverUrl;
    const next = nextChoice(this.#choice, outcome);
    this.#choice = next.choice;
    if (outcome.kind === 'redirected')
      this.#options.log(`${from} does not lead: dialling the leader ${this.serverUrl}`);
    else if (this.serverUrl !== from) this.#options.log(`${from} is unreachable: trying ${this.serverUrl}`);
    setTimeout(() => void this.#dial(), next.delayMs);
  }

  #receive(text: string): void {
    const read = readServerMessage(text);
    if (read.kind !== 'ok') {
      this.#options.log(
        `ignoring a server message: ${read.kind === 'bad' ? read.reason : `unknown type ${read.type}`}`,
      );
      return;
    }
    const message = read.message;
    switch (message.type) {
      case 'welcome': {
        // A server that did not check the hello's cluster (an older one) is refused here.
        if (this.#clusterId !== undefined && this.#clusterId !== message.cluster_id) {
          this.#refusingServer = `cluster mismatch: this server is cluster ${message.cluster_id}`;
          this.#socket?.close(
            CLOSE_CODES.clusterMismatch,
            `this agent belongs to cluster ${this.#clusterId}`,
          );
          return;
        }
        if (this.#refusals > 0)
          this.#options.log(`the server accepts this agent now (cluster ${message.cluster_id})`);
        this.#refusals = 0;
        this.#choice = nextChoice(this.#choice, { kind: 'welcomed' }).choice;
        this.#welcomedOn = this.#socket;
        const pool = parsePoolOrUndefined(message.address_pool);
        if (!pool) {
          this.#options.log(`the server sent an address pool this agent cannot use: ${message.address_pool}`);
          this.#socket?.close(CLOSE_CODES.badMessage, 'bad address pool');
          return;
        }
        const cluster = { clusterId: message.cluster_id, pool };
        const problem = this.#poolProblem(cluster);
        if (problem !== undefined) {
          this.#refuseServer(problem);
          return;
        }
        this.#startLoop(cluster);
        // A server that restarted (or a new leader) knows nothing of what it asked to prepare.
        this.#prepared?.setWanted([]);
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
          this.#metricsTimer = setInterval(
            sendMetrics,
            Math.max(METRICS_INTERVAL_MS, message.stats_interval_ms ?? 0),
          );
          sendMetrics();
        }
        const full = this.#loop?.fullReport();
        if (full) this.#sendReport(full);
        this.#serverReadsVolumes = message.features?.includes(FEATURES.volumes) === true;
        const volumes = this.#loop?.volumes;
        if (this.#serverReadsVolumes && volumes) this.#send({ type: 'volumes', volumes: [...volumes] });
        // An older server would log every stats message as unknown: only to one that asks.
        if (message.features?.includes(FEATURES.stats)) this.#stats?.start();
        if (message.features?.includes(FEATURES.images)) this.#images?.connected((m) => this.#send(m));
        this.#options.log(`registered as ${message.node_id}`);
        return;
      }
      case 'assign': {
        if (!this.#clusterId || !this.#pool) return;
        this.#generation = message.generation;
        saveAssignment(this.#options.dataDir, {
          cluster_id: this.#clusterId,
          address_pool: this.#pool.cidr,
          generation: message.generation,
          ...(this.#beat.intervalMs === undefined ? {} : { heartbeat_interval_ms: this.#beat.intervalMs }),
          // References only: secret values stay in memory (and in the tmpfs files), never on disk.
          tasks: message.tasks.map(withoutSecretValues),
        });
        this.#loop?.setDesired(message.tasks, { fromServer: true });
        return;
      }
      case 'heartbeat.interval':
        // The cluster grew: slower beats, and as much more patience with the server's silence.
        this.#beat.beatEvery(message.heartbeat_interval_ms);
        if (message.stats_interval_ms !== undefined) {
          this.#stats?.setInterval(message.stats_interval_ms);
          if (this.#metricsTimer && this.#sendMetrics) {
            clearInterval(this.#metricsTimer);
            this.#metricsTimer = setInterval(
              this.#sendMetrics,
              Math.max(METRICS_INTERVAL_MS, message.stats_interval_ms),
            );
          }
        }
        return;
      case 'prepare':
        this.#prepared?.setWanted(message.tasks);
        return;
      case 'endpoints':
        this.#applyEndpoints(fullSet(message.generation, message.services, message.node_addresses));
        return;
      case 'endpoints.delta': {
        const outcome = mergeEndpoints(this.#endpoints, {
          generation: message.generation,
          baseGeneration: message.base_generation,
          services: message.services,
          removed: message.removed,
          peers: message.node_addresses,
          patched: message.patched,
        });
        if (outcome.kind === 'applied') this.#applyEndpoints(outcome.set);
        else {
          this.#options.log(
            `endpoints delta from generation ${message.base_generation}, holding ${outcome.held ?? 'none'}: asking for the whole set`,
          );
          this.#send({ type: 'endpoints.resync' });
        }
        return;
      }
      case 'logs.start':
        void this.#streamLogs(message.request_id, message.task_id, message.request);
        return;
      case 'logs.cancel':
        this.#logStreams.get(message.request_id)?.abort();
        return;
      case 'volumes.remove':
        this.#loop?.removeVolumes(message.names);
        return;
      case 'exec.start':
        void this.#execs.start(message.request_id, message.task_id, message.request);
        return;
      case 'exec.input':
        this.#execs.input(message.request_id, message.data);
        return;
      case 'exec.input_end':
        this.#execs.inputEnd(message.request_id);
        return;
      case 'exec.resize':
        this.#execs.resize(message.request_id, message.cols, message.rows);
        return;
      case 'exec.cancel':
        this.#execs.cancel(message.request_id);
        return;
      case 'probe.node':
        void probeNode(message.address, message.ports, message.timeout_ms).then((answer) =>
          this.#send({ type: 'probe.node.result', probe_id: message.probe_id, ...answer }),
        );
        return;
      case 'image.pull':
        void this.#prePuller.pull(message.request_id, message.service, message.image, message.registry_auth);
        return;
      case 'images.prune':
        if (this.#images) void this.#images.prune(message.request_id);
        else
          this.#send({
            type: 'images.pruned',
            request_id: message.request_id,
            removed: [],
            error: 'this agent does not keep images',
          });
        return;
    }
  }

  /** Takes a set (whole, or merged from a delta) to the data plane, and acknowledges its generation. */
  #applyEndpoints(set: EndpointSet): void {
    this.#endpoints = set;
    if (this.#options.dataPlane !== false) this.#dataPlane?.update(set.services, set.peers);
    if (set.generation !== undefined) this.#send({ type: 'endpoints.ack', generation: set.generation });
  }

  /** What is wrong and how to fix it, for a server of another cluster. */
  #refusalAdvice(reason: string): string {
    const { dataDir } = this.#options;
    const serverUrl = this.serverUrl;
    const file = join(dataDir, 'assignment.json');
    const reset = existsSync(file)
      ? `stop the agent, remove ${file} (or start it with a fresh --data-dir), and start it again`
      : 'restart the agent (it has no saved assignment, so it starts fresh)';
    return [
      `the server at ${serverUrl} refused this agent (${reason}): this agent belongs to cluster ${this.#clusterId}, as its data dir ${dataDir} says.`,
      `  If this host should join that server's cluster: ${reset}.`,
      `  Containers of cluster ${this.#clusterId} are then left alone (docker ps --filter label=skiff.cluster=${this.#clusterId}).`,
      `  Otherwise point --server at cluster ${this.#clusterId}'s server. Until then this agent keeps running what it was assigned and retries every 30 s at most.`,
    ].join('\n');
  }

  /**
   * Tells the server why this node runs nothing (a node event, and the close code, which the
   * server shows in `skiff nodes`), then hangs up; redials wait for the host to change.
   */
  #refuseServer(problem: string): void {
    const name = this.#registration?.name ?? 'unknown';
    this.#send({
      type: 'report',
      generation: this.#generation,
      full: false,
      tasks: [],
      removed: [],
      events: [
        {
          type: 'node',
          service: null,
          container: null,
          node: name,
          message: `Node ${name}: ${problem}`,
          at: Date.now(),
        },
      ],
    });
    this.#socket?.close(CLOSE_CODES.addressPoolOverlap, 'this host overlaps the address pool');
  }

  #startLoop({ clusterId, pool }: ClusterAddressing): void {
    if (this.#loop) return;
    this.#clusterId = clusterId;
    this.#pool = pool;
    const registration = this.#registration;
    if (!registration) throw new Error('agent loop started before the engine was inspected');
    const where = {
      address: registration.address,
      host: this.#host,
      engineOnThisHost:
        this.#options.engineAddress === undefined || engineOnThisHost(this.#options.engineAddress),
    };
    const published = this.#options.dataPlane === false ? undefined : publishAddress(where);
    const warning = this.#options.dataPlane === false ? undefined : publishAddressWarning(where);
    if (warning) this.#options.log(`warning: ${warning}`);
    this.#dataPlane = new DataPlane({
      engine: this.#options.engine,
      clusterId,
      pool,
      nodeId: registration.name,
      ...(published === undefined ? {} : { nodeAddress: published }),
      log: this.#options.log,
      tally: this.#tally,
      ...(this.#haproxy === undefined
        ? {}
        : { haproxy: { dir: join(this.#options.dataDir, 'haproxy'), fallback: this.#haproxy.fallback } }),
      onProblem: (problem) =>
        this.#loop?.recordEvent({
          type: 'node',
          service: null,
          container: null,
          message: `Node ${registration.name}: ${problem}`,
        }),
    });
    this.#loop = new ConvergeLoop({
      engine: this.#options.engine,
      clusterId,
      pool,
      nodeId: registration.name,
      concurrency: this.#options.concurrency ?? 8,
      ...(this.#options.pullConcurrency ? { pullConcurrency: this.#options.pullConcurrency } : {}),
      ...(this.#options.pullTimeoutMs ? { pullTimeoutMs: this.#options.pullTimeoutMs } : {}),
      ...(this.#options.secretsDir ? { secretsDir: this.#options.secretsDir } : {}),
      ...(this.#secretsRefusal ? { secretsRefusal: this.#secretsRefusal } : {}),
      ...(published === undefined
        ? {}
        : { publishAddress: published, onPublishedPorts: (ports) => this.#dataPlane?.setLocalPorts(ports) }),
      resyncIntervalMs: 5000,
      networksInUse: () => (this.#options.dataPlane === false ? [] : this.#dataPlane?.networkNames()),
      stableAfterMs: 10_000,
      now: Date.now,
      tally: this.#tally,
      onReport: (report) => this.#sendReport(report),
      onVolumes: (volumes) => {
        if (this.#serverReadsVolumes) this.#send({ type: 'volumes', volumes: [...volumes] });
      },
      onError: (error) =>
        this.#options.log(`converge: ${error instanceof Error ? error.message : String(error)}`),
      creatingElsewhere: () => this.#prepared?.creating() ?? [],
      preparedContainer: (taskId) => this.#prepared?.createdFor(taskId),
    });
    this.#loop.start();
    const loop = this.#loop;
    this.#prepared = new PreparedReplicas({
      engine: this.#options.engine,
      clusterId,
      pool,
      ...(published === undefined ? {} : { publishAddress: published }),
      assigned: () => loop.assignedTaskIds(),
      onAssignedCreated: (taskId, containerId) => loop.preparedCreated(taskId, containerId),
      log: this.#options.log,
    });
    this.#prepared.start();
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
    // Task state is re-sent in full on reconnect; only events need keeping.
    this.#pendingEvents = sent ? [] : events;
  }

  async #streamLogs(requestId: string, taskId: string, request: LogStartRequest): Promise<void> {
    const container = this.#loop?.containerOf(taskId);
    if (!container) {
      this.#send({ type: 'logs.end', request_id: requestId, error: null });
      return;
    }
    const controller = new AbortController();
    this.#logStreams.set(requestId, controller);
    let error: string | null = null;
    try {
      await this.#options.engine.streamLogs(
        container.id,
        request,
        (entries) => {
          this.#send({
            type: 'logs.chunk',
            request_id: requestId,
            lines: entries.map((e) => ({ at: e.at, stream: e.stream, text: e.text })),
          });
        },
        controller.signal,
      );
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    } finally {
      this.#logStreams.delete(requestId);
    }
    this.#send({ type: 'logs.end', request_id: requestId, error });
  }

  #send(message: AgentMessage): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }
}

function parsePoolOrUndefined(text: string): AddressPool | undefined {
  try {
    return parseAddressPool(text);
  } catch {
    return undefined;
  }
}

export function defaultNodeName(host: string): string {
  const label = (host.split('.')[0] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return label.slice(0, 63) || 'node';
}

type LogStartRequest = Extract<ServerMessage, { type: 'logs.start' }>['request'];
