/**
 * The agents' door: WebSocket upgrades on /agent/v1, over mutual TLS only (loopback included):
 * the client certificate names the node, and the hello must name the same node, once (one
 * connection is one node). The first message must be a hello (the node's registration); after that, heartbeats, reports and log lines flow
 * in, assignments and log requests flow out. A dropped connection marks the node unreachable at
 * once.
 *
 * With several servers (HA) only the leader serves agents (`admit`): a follower closes a verified
 * connection naming the leader (`CLOSE_CODES.notLeader`), or holds it while no leader is known and
 * names the leader as soon as one is (`reconsider`), so an agent waits out an election on an open
 * connection rather than redialling; the follower elected serves the agents it holds on those
 * connections. A leader that steps down closes its agents the same way.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { AgentSnapshot, CounterInterner } from '../metrics/agent-counters.ts';
import { readAgentSnapshot } from '../metrics/agent-counters.ts';
import type { AddressPool } from '../model/addressing.ts';
import type { NodeRegistration } from '../model/node.ts';
import { checkAgentProtocol, closeReasonFor } from '../protocol/compatibility.ts';
import { FEATURES, PROTOCOL_VERSION, SERVER_FEATURES } from '../protocol/features.ts';
import type { AgentMessage, ServerMessage } from '../protocol/messages.ts';
import { AGENT_PATH, CLOSE_CODES } from '../protocol/messages.ts';
import { readAgentMessage } from '../protocol/read-message.ts';
import { readStatsSamples } from '../protocol/stats-message.ts';
import type { ReportedVolume } from '../protocol/volume-messages.ts';
import type { StatsWindow } from '../stats/stats-window.ts';
import type { AgentLink, Cluster } from './cluster.ts';
import { clusterMismatch } from './cluster.ts';
import type { Controller } from './controller.ts';
import type { EventLog } from './event-log.ts';
import type { ExecBroker } from './exec-broker.ts';
import { FragmentedSender, WriteBudget } from './fragmented-sender.ts';
import type { ImageInventory } from './image-inventory.ts';
import type { ImagePruneBroker } from './image-prune-broker.ts';
import type { AgentAdmission } from './leadership/agent-admission.ts';
import type { LogBroker } from './log-broker.ts';
import { heartbeatIntervalMs } from './node-liveness.ts';
import type { NodeProbes } from './node-probes.ts';
import { STATS_BASE_MS, statsIntervalMs } from './stats-cadence.ts';

export interface GatewayOptions {
  /** The node a verified client certificate names, if that certificate is still its own. */
  readonly authenticate: (request: IncomingMessage) => { readonly nodeName: string } | undefined;
  readonly clusterId: string;
  /** Sent in the welcome: every agent derives its addresses from it and checks its host against it. */
  readonly addressPool: AddressPool;
  /** The base heartbeat interval: small clusters get it, larger ones longer (node-liveness.ts). */
  readonly heartbeatIntervalMs: number;
  readonly cluster: Cluster;
  readonly controller: Controller;
  readonly events: EventLog;
  readonly logs: LogBroker;
  /** Where agents' resource usage goes (src/stats); without one, stats messages are ignored. */
  readonly stats?: StatsWindow;
  /** Where agents' image lists go (image locality, `skiff image ls`); without one, ignored. */
  readonly images?: ImageInventory;
  readonly imagePrunes?: ImagePruneBroker;
  readonly execs: ExecBroker;
  /** Asks other agents about a node whose agent went silent (indirect probes); absent: none asked. */
  readonly probes?: NodeProbes;
  readonly now: () => number;
  readonly log: (message: string) => void;
  /**
   * Takes a node's volume report (volume-registry.ts `recordVolumes`); returns the volumes it
   * holds that are to be removed, which it is asked to remove. Without one, the feature is not offered.
   */
  readonly onVolumes?: (nodeId: string, volumes: readonly ReportedVolume[]) => readonly string[];
  /**
   * Takes a node's latest `agent.metrics` message as it came, unread (its bytes, the agent's own
   * copy): the counters are read when scraped (metrics/agent-snapshots.ts, `readAgentMetricsText`).
   */
  readonly onAgentMetricsText?: (nodeId: string, bytes: Buffer) => void;
  /**
   * Whether this server serves agents now (HA: the leader does); absent, always. `unreachable` is
   * the server the agent says it just failed to reach (the dial's `unreachable` query).
   */
  readonly admit?: (unreachable: Unreachable | undefined) => AgentAdmission;
  /** An agent is held that could not reach `unreachable` (HA: the leader is probed). */
  readonly onHold?: (unreachable: Unreachable) => void;
}

/** The server an agent says it just failed to reach, and when it arrived here (this server's clock). */
export interface Unreachable {
  readonly url: string;
  readonly arrivedAtMs: number;
}

export interface AgentGateway {
  /**
   * Applies `admit` again: to connections held for want of a leader, and, when this server no
   * longer serves agents, to every agent it serves (closed naming the leader, or held).
   */
  reconsider(): void;
  close(): void;
}

const HELLO_TIMEOUT_MS = 10_000;
/** What a held agent may say before it is served (its hello; then at most a few reports). */
const MAX_HELD_MESSAGES = 16;

interface Held {
  readonly timer: NodeJS.Timeout;
  readonly unreachable: Unreachable | undefined;
  readonly nodeName: string;
  readonly said: Buffer[];
  readonly listen: (data: WebSocket.RawData) => void;
}
/** How long a follower holds an agent's connection waiting for a leader before it says so. */
export const HOLD_FOR_LEADER_MS = 10_000;

/**
 * Whether a request is for the upgrade handler: a WebSocket upgrade on the agent path. Any other
 * request carrying `Upgrade` (curl --http2's h2c, a WebSocket to a plain route) is served as the
 * ordinary HTTP request it also is, `/healthz` included.
 */
export function isAgentUpgrade(request: IncomingMessage): boolean {
  const path = new URL(request.url ?? '/', 'http://skiff').pathname;
  return path === AGENT_PATH && request.headers.upgrade?.toLowerCase() === 'websocket';
}

export function attachAgentGateway(server: Server, options: GatewayOptions): AgentGateway {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  const state = {
    closing: false,
    // What all agents' fragments together may write in one turn of the event loop.
    writeBudget: new WriteBudget(),
  };
  /**
   * Connections waiting for a leader to be named: their hold timers, what they could not reach,
   * the node their certificate names, and what they said meanwhile (their hello), kept so this
   * server serves them on the same connection if it is the one elected.
   */
  const held = new Map<WebSocket, Held>();
  const served = new Set<WebSocket>();
  const admission = (unreachable?: Unreachable): AgentAdmission =>
    options.admit?.(unreachable) ?? { kind: 'accept' };
  const hold = (ws: WebSocket, nodeName: string, unreachable: Unreachable | undefined) => {
    const timer = setTimeout(() => {
      held.delete(ws);
      ws.close(CLOSE_CODES.noLeader, 'no leader elected yet');
    }, HOLD_FOR_LEADER_MS);
    const said: Buffer[] = [];
    const listen = (data: WebSocket.RawData) => {
      if (said.length < MAX_HELD_MESSAGES)
        said.push(Buffer.isBuffer(data) ? data : Buffer.from(String(data)));
    };
    ws.on('message', listen);
    held.set(ws, { timer, unreachable, nodeName, said, listen });
    ws.on('close', () => {
      clearTimeout(held.get(ws)?.timer);
      held.delete(ws);
    });
    ws.on('error', () => {});
    if (unreachable) options.onHold?.(unreachable);
  };
  const serve = (ws: WebSocket, nodeName: string) => {
    served.add(ws);
    ws.on('close', () => served.delete(ws));
    serveAgent(ws, nodeName, options, state);
  };
  /** This server was elected while holding `ws`: served where it is, what it said read now. */
  const serveHeld = (ws: WebSocket, entry: Held) => {
    ws.off('message', entry.listen);
    serve(ws, entry.nodeName);
    for (const data of entry.said) ws.emit('message', data, false);
  };
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Not the agents' door: another upgrade handler (`skiff exec`'s, src/api) answers it.
    // Not the agents' door: the dashboard stream's handler (src/api/stream) answers it.
    if (!isAgentUpgrade(request)) return;
    const identity = options.authenticate(request);
    if (!identity) return refuse(socket, 401, 'Unauthorized');
    const gone = new URL(request.url ?? '/', 'http://skiff').searchParams.get('unreachable');
    const unreachable = gone ? { url: gone, arrivedAtMs: options.now() } : undefined;
    wss.handleUpgrade(request, socket, head, (ws) => {
      const decision = admission(unreachable);
      if (decision.kind === 'redirect') return closeWith(ws, CLOSE_CODES.notLeader, decision.url);
      if (decision.kind === 'hold') return hold(ws, identity.nodeName, unreachable);
      if (decision.kind === 'refuse') return ws.close(CLOSE_CODES.noLeader, 'this server knows no leader');
      serve(ws, identity.nodeName);
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    reconsider() {
      const decision = admission();
      if (decision.kind === 'hold' || decision.kind === 'refuse') {
        // Agents this server served (it stepped down) go and look for the leader themselves.
        for (const ws of served) {
          served.delete(ws);
          ws.close(CLOSE_CODES.noLeader, 'this server no longer leads');
        }
        return;
      }
      // A held agent is served here if this server leads now (no redial: the election is the
      // only wait), else sent to the leader.
      for (const [ws, entry] of held) {
        const own = admission(entry.unreachable);
        if (own.kind === 'hold') {
          // Held for the server the key names now (it may have been elected while this agent
          // waited, after failing to reach it): that server is asked whether it leads.
          if (entry.unreachable) options.onHold?.(entry.unreachable);
          continue;
        }
        clearTimeout(entry.timer);
        held.delete(ws);
        if (own.kind === 'refuse') {
          ws.close(CLOSE_CODES.noLeader, 'this server knows no leader');
          continue;
        }
        if (own.kind === 'accept') {
          if (ws.readyState === ws.OPEN) serveHeld(ws, entry);
          continue;
        }
        closeWith(ws, CLOSE_CODES.notLeader, own.url);
      }
      if (decision.kind === 'redirect') {
        for (const ws of served) {
          served.delete(ws);
          closeWith(ws, CLOSE_CODES.notLeader, decision.url);
        }
      }
    },
    close() {
      for (const { timer } of held.values()) clearTimeout(timer);
      // Closing sockets below fires their close handlers later, after the store may be closed:
      // a server going down records nothing about its agents.
      state.closing = true;
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(CLOSE_CODES.serverShutdown, 'server shutting down');
      wss.close();
    },
  };
}

/** Notes the refusal for `skiff nodes`, and as an event the first time (not on every retry). */
function refuseForeignAgent(node: NodeRegistration, reason: string, options: GatewayOptions): void {
  if (!options.cluster.refuse(node, reason, options.now())) return;
  const message = `Node ${node.name} refused: ${reason}, not to this one (${options.clusterId})`;
  options.log(message);
  options.events.append(
    { type: 'node', service: null, container: null, node: node.name, message },
    options.now(),
  );
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * A dropped connection's pass waits this long, so that the drops of hosts that die together are
 * taken in one pass: a pass after the first of them (40 ms at 1,000 nodes) held the server's
 * reading of the others back, and 100 killed at once were seen dropped over 94-147 ms, each
 * one's grace starting that much later. The node is unreachable (its replicas out of the
 * endpoints) this much later, at most.
 */
const DROPS_GATHER_MS = 20;

/** A close reason is at most 123 bytes (RFC 6455); ws throws on a longer one. */
function closeWith(ws: WebSocket, code: number, reason: string): void {
  let text = reason;
  while (Buffer.byteLength(text) > 123) text = text.slice(0, -1);
  ws.close(code, text);
}

function serveAgent(
  ws: WebSocket,
  certifiedName: string,
  options: GatewayOptions,
  gateway: {
    readonly closing: boolean;
    readonly writeBudget: WriteBudget;
  },
): void {
  const { cluster, controller, events, logs, now } = options;
  // A large message goes in fragments, each written once the last one was (fragmented-sender.ts:
  // a large TLS write leaves a buffer its size with the connection for good).
  const sender = new FragmentedSender(ws, { budget: gateway.writeBudget });
  const link: AgentLink = {
    send: (message: ServerMessage) => sender.send(JSON.stringify(message)),
    // A Buffer is framed as it is (the server does not mask): one copy for every socket.
    sendSerialised: (bytes: Buffer) => sender.send(bytes),
    bufferedBytes: () => sender.bufferedBytes,
    close: (code, reason) => closeWith(ws, code, reason),
  };
  let nodeId: string | undefined;
  const helloTimer = setTimeout(
    () => ws.close(CLOSE_CODES.badMessage, 'no hello received'),
    HELLO_TIMEOUT_MS,
  );

  const handle = (message: AgentMessage): void => {
    if (message.type === 'hello') {
      clearTimeout(helloTimer);
      if (nodeId !== undefined) {
        ws.close(CLOSE_CODES.badMessage, 'one connection is one node: hello only once');
        return;
      }
      if (message.node.name !== certifiedName) {
        options.log(`refused a hello as ${message.node.name} on node ${certifiedName}'s certificate`);
        ws.close(CLOSE_CODES.identityMismatch, `this connection's certificate is node ${certifiedName}'s`);
        return;
      }
      const protocol = checkAgentProtocol(message.protocol_version, PROTOCOL_VERSION);
      if (!protocol.ok) {
        // Said once (and shown by `skiff nodes`); the agent retries slowly until it is upgraded.
        if (cluster.refuse(message.node, protocol.reason, now())) {
          options.log(
            `Node ${message.node.name} (agent ${message.agent_version}) refused: ${protocol.reason}`,
          );
          events.append(
            {
              type: 'node',
              service: null,
              container: null,
              node: message.node.name,
              message: `Node ${message.node.name} refused: ${protocol.reason}`,
            },
            now(),
          );
        }
        ws.close(CLOSE_CODES.protocolUnsupported, closeReasonFor(protocol, PROTOCOL_VERSION));
        return;
      }
      const mismatch = clusterMismatch(message.cluster_id, options.clusterId);
      if (mismatch !== undefined) {
        refuseForeignAgent(message.node, mismatch, options);
        ws.close(
          CLOSE_CODES.clusterMismatch,
          `cluster mismatch: this server is cluster ${options.clusterId}`,
        );
        return;
      }
      const outcome = cluster.connect(message.node, link, now(), message.features);
      if (!outcome.ok) {
        closeWith(ws, CLOSE_CODES.nameConflict, outcome.reason);
        return;
      }
      nodeId = outcome.session.id;
      options.probes?.forget(nodeId);
      // Slower beats as the cluster grows; the node's silence is judged by what it was told.
      const intervalMs = heartbeatIntervalMs(options.heartbeatIntervalMs, cluster.size);
      outcome.session.heartbeatIntervalMs = intervalMs;
      const statsInterval = statsIntervalMs(STATS_BASE_MS, cluster.size);
      link.send({
        type: 'welcome',
        node_id: nodeId,
        cluster_id: options.clusterId,
        address_pool: options.addressPool.cidr,
        heartbeat_interval_ms: intervalMs,
        // Only past the base: a small cluster's welcome is as it was (every agent's own 5 s).
        ...(statsInterval > STATS_BASE_MS ? { stats_interval_ms: statsInterval } : {}),
        // Each feature the server reads is listed only when this server has its reader.
        features: SERVER_FEATURES.filter(
          (feature) =>
            (feature === FEATURES.stats && options.stats !== undefined) ||
            (feature === FEATURES.images && options.images !== undefined) ||
            (feature === FEATURES.agentMetrics && options.onAgentMetricsText !== undefined) ||
            (feature === FEATURES.volumes && options.onVolumes !== undefined) ||
            feature === FEATURES.pingHeartbeat,
        ),
      });
      const text =
        outcome.previousStatus === undefined
          ? `Node ${nodeId} joined`
          : `Node ${nodeId} is ready (agent connected)`;
      events.append({ type: 'node', service: null, container: null, node: nodeId, message: text }, now());
      cluster.retellHeartbeatIntervals(intervalMs);
      controller.trigger();
      return;
    }
    if (nodeId === undefined) {
      ws.close(CLOSE_CODES.badMessage, 'hello must come first');
      return;
    }
    switch (message.type) {
      case 'heartbeat':
        cluster.heartbeat(nodeId, now());
        return;
      case 'report':
        cluster.heartbeat(nodeId, now());
        controller.applyReport(nodeId, message);
        return;
      case 'logs.chunk':
        logs.chunk(message.request_id, message.lines);
        return;
      case 'logs.end':
        logs.end(message.request_id, message.error);
        return;
      case 'endpoints.ack':
        // No pass of its own: a thousand agents ack every generation, and what an ack can free
        // (an address, address-release.ts) waits a DNS TTL anyway; the next tick sees it.
        cluster.ackEndpoints(nodeId, message.generation);
        return;
      case 'endpoints.resync':
        options.log(`agent ${nodeId}: asked for the whole endpoints set`);
        cluster.resyncEndpoints(nodeId);
        controller.trigger();
        return;
      case 'agent.metrics':
        // Read already (its text did not begin as JSON.stringify writes it): kept as the others are.
        options.onAgentMetricsText?.(nodeId, Buffer.from(JSON.stringify(message)));
        return;
      case 'stats':
        options.stats?.record(nodeId, message.interval_ms, readStatsSamples(message), now());
        return;
      case 'images':
        // No pass for it: locality only ranks nodes for replicas placed later, it frees none.
        options.images?.apply(nodeId, message, now());
        return;
      case 'images.pruned':
        options.imagePrunes?.answered(nodeId, message.request_id, message.removed, message.error);
        return;
      case 'volumes': {
        const remove = options.onVolumes?.(nodeId, message.volumes) ?? [];
        if (remove.length > 0) link.send({ type: 'volumes.remove', names: [...remove] });
        // Where volumes are decides where replicas go: a pinned replica may be placeable now.
        controller.trigger();
        return;
      }
      case 'exec.output':
        options.execs.output(nodeId, message.request_id, message.stream, message.data);
        return;
      case 'exec.exit':
        options.execs.exit(nodeId, message.request_id, message.exit_code, message.error);
        return;
      case 'probe.node.result':
        options.probes?.result(nodeId, message.probe_id, message.reachable, message.detail);
        return;
      case 'image.pull_status':
        cluster.recordPull(nodeId, message.request_id, {
          state: message.state,
          message: message.error,
          at: now(),
        });
        controller.trigger();
        return;
    }
  };
  const who = () => nodeId ?? '(unregistered)';
  ws.on('message', (data) => {
    // A closing connection (this server stepped down) is no longer heard: its reports would be
    // written by a server that no longer decides.
    if (gateway.closing || ws.readyState !== ws.OPEN) return;
    // An agent's counters are only read when scraped: kept as they came (a copy: ws may hand a
    // view of its larger read buffer), not parsed, 40 a second at 1,000 nodes.
    if (nodeId !== undefined && options.onAgentMetricsText && isAgentMetricsText(data)) {
      const bytes = Buffer.allocUnsafeSlow(data.length);
      data.copy(bytes);
      options.onAgentMetricsText(nodeId, bytes);
      return;
    }
    const text = String(data);
    const read = readAgentMessage(text);
    if (read.kind === 'unknown') {
      // A newer agent's message: ignored, so agents can be upgraded before the server.
      options.log(`agent ${who()}: ignoring a message of unknown type ${JSON.stringify(read.type)}`);
      return;
    }
    if (read.kind === 'bad') {
      options.log(`closing agent ${who()}: bad message: ${read.reason}`);
      ws.close(CLOSE_CODES.badMessage, 'malformed message');
      return;
    }
    // Whatever goes wrong handling one message stays with that message: a throw out of a socket
    // listener would end the process, and with it every other agent's connection.
    try {
      handle(read.message);
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      options.log(`agent ${who()}: dropped a ${read.message.type} message: ${text.slice(0, 2000)}`);
    }
  });
  // Any agent's ping is a sign of life; an agent told `ping-heartbeat` sends no other beat. ws
  // has answered it already (its pong is the agent's sign of this server).
  ws.on('ping', () => {
    if (nodeId !== undefined && !gateway.closing) cluster.heartbeat(nodeId, now());
  });
  ws.on('close', (code) => {
    clearTimeout(helloTimer);
    if (gateway.closing || nodeId === undefined) return;
    try {
      // The agent found its host inside the pool (its event says where): `skiff nodes` says so too.
      const session = cluster.get(nodeId);
      if (code === CLOSE_CODES.addressPoolOverlap && session?.link === link) {
        cluster.refuse(
          session.registration,
          `its host overlaps the address pool ${options.addressPool.cidr} (see the node's events)`,
          now(),
        );
      }
      if (!cluster.disconnect(nodeId, link, now())) return;
      logs.nodeGone(nodeId);
      options.execs.nodeGone(nodeId);
      options.imagePrunes?.nodeGone(nodeId);
      // Closed because this server stepped down: the new leader tells the story, not this one.
      if (controller.paused) return;
      events.append(
        {
          type: 'node',
          service: null,
          container: null,
          node: nodeId,
          message: `Node ${nodeId} is unreachable (agent disconnected)`,
        },
        now(),
      );
      options.probes?.start(nodeId);
      controller.trigger(DROPS_GATHER_MS);
    } catch (error) {
      options.log(`agent ${who()}: after close: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  ws.on('error', (error) => options.log(`agent ${nodeId ?? '(unregistered)'}: ${error.message}`));
}

/** How an agent's `agent.metrics` message begins (JSON.stringify of `{ type: 'agent.metrics', … }`). */
const AGENT_METRICS_PREFIX = Buffer.from('{"type":"agent.metrics",');

function isAgentMetricsText(data: WebSocket.RawData): data is Buffer {
  return (
    Buffer.isBuffer(data) &&
    data.length > AGENT_METRICS_PREFIX.length &&
    data.subarray(0, AGENT_METRICS_PREFIX.length).equals(AGENT_METRICS_PREFIX)
  );
}

/**
 * One `agent.metrics` message's snapshot, read as the gateway reads every message (not JSON, or
 * not an `agent.metrics` whose envelope holds: why), its entries shared through `interner`.
 */
export function readAgentMetricsText(
  text: string,
  interner: CounterInterner,
): AgentSnapshot | { readonly bad: string } {
  const read = readAgentMessage(text);
  if (read.kind === 'unknown') return { bad: `a message of unknown type ${JSON.stringify(read.type)}` };
  if (read.kind === 'bad') return { bad: read.reason };
  if (read.message.type !== 'agent.metrics') return { bad: `a ${read.message.type} message` };
  return readAgentSnapshot(read.message, interner);
}
