/**
 * The agent protocol: JSON messages over one WebSocket per agent (path `/agent/v1`, join token
 * as a Bearer header). The server sends each node its complete desired set of tasks with a
 * generation number; the agent converges its engine to it and reports what it observes.
 */
import { z } from 'zod';
import { agentMetricsMessageSchema } from '../metrics/agent-counters.ts';
import { DEFAULT_ADDRESS_POOL } from '../model/addressing.ts';
import {
  boundedTextSchema,
  epochMsSchema,
  idTextSchema,
  MAX_EPOCH_MS,
  MAX_LOG_LINE_CHARS,
  MAX_STATUS_MESSAGE_CHARS,
} from '../model/bounds.ts';
import { eventInputSchema } from '../model/event.ts';
import { looseCopy } from '../model/loose.ts';
import { nodeRegistrationSchema } from '../model/node.ts';
import { portSchema, serviceSpecSchema } from '../model/service-spec.ts';
import { publishedPortSchema, taskObservationSchema } from '../model/task.ts';
import { serviceAdmissionSchema } from '../policy/admission-policy.ts';
import { execAgentMessages, execServerMessages } from './exec-messages.ts';
import {
  imagesMessageSchema,
  imagesPrunedMessageSchema,
  imagesPruneMessageSchema,
} from './images-message.ts';
import { nodeProbeAgentMessages, nodeProbeServerMessages } from './node-probe-messages.ts';
import { pullAgentMessages, pullServerMessages } from './pull-messages.ts';
import { statsMessageSchema } from './stats-message.ts';
import { volumesMessageSchema, volumesRemoveMessageSchema } from './volume-messages.ts';

export const AGENT_PATH = '/agent/v1';

/** Everything an agent needs to run one task, with no further questions to the server. */
/** A network by name and by the index its addresses derive from (model/addressing.ts). */
export const networkRefSchema = z.object({ name: z.string().max(256), index: z.int().min(0).max(65_535) });
export type NetworkRef = z.infer<typeof networkRefSchema>;

/** A secret or config file a task's container needs, with its value. */
export const secretFileSchema = z.object({
  kind: z.enum(['secret', 'config']),
  name: z.string(),
  /** Absolute path in the container. */
  target: z.string().startsWith('/'),
  mode: z.int().min(0).max(0o777),
  /** base64 */
  data: z.string(),
});
export type SecretFile = z.infer<typeof secretFileSchema>;

export const taskSpecSchema = z.object({
  task_id: idTextSchema,
  service: idTextSchema,
  slot: z.int().min(0).max(1_000_000),
  revision: z.int().min(0),
  /**
   * Read loosely and without the API's limits: a newer server's new fields are dropped (features.ts
   * gates what matters), and a spec stored under older limits still runs (timers are clamped).
   */
  spec: looseCopy(serviceSpecSchema, { checks: false }),
  /** The service's networks, first one primary (its gateway is the container's resolver). */
  networks: z.array(networkRefSchema).min(1).max(64),
  /**
   * The admission policy the service is held to; the agent checks the spec against it before it
   * creates a container. Absent (an older server) means baseline.
   */
  admission: serviceAdmissionSchema.optional(),
  /**
   * The values of the secrets and configs the spec refers to, sent only to the node that runs the
   * task and never written to the agent's disk (its saved assignment drops them).
   */
  secret_files: z.array(secretFileSchema).optional(),
  /**
   * The `X-Registry-Auth` header for the registry of the task's image, when the cluster holds a
   * credential for it (`skiff registry login`); like secret values, never written to disk.
   */
  registry_auth: z.string().max(16_384).optional(),
});

/** One serving replica, as every host's proxy and DNS need it. */
export const backendSchema = z.object({
  task_id: idTextSchema,
  node_id: idTextSchema,
  /** The node's address, where its published ports are reached from other hosts. */
  address: z.string().max(253),
  container_ip: z.string().max(64).nullable(),
  ports: z.array(publishedPortSchema).max(1024),
});
export type Backend = z.infer<typeof backendSchema>;

export const serviceEndpointsSchema = z.object({
  name: idTextSchema,
  vip_index: z.int().min(1).max(1_000_000),
  networks: z.array(networkRefSchema),
  ports: z.array(looseCopy(portSchema, { checks: false })),
  backends: z.array(backendSchema),
  /** Other names the service answers to on its networks (a stack's short Compose names). */
  aliases: z.array(idTextSchema).max(16).optional(),
});
export type ServiceEndpoints = z.infer<typeof serviceEndpointsSchema>;

/** One service's backends changed since a generation the agent holds (`endpoints.delta` `patched`). */
export const backendsPatchSchema = z.object({
  name: idTextSchema,
  /** Added or changed, each whole (a backend is known by its `task_id`). */
  backends: z.array(backendSchema),
  /** Task ids of backends gone. */
  removed: z.array(idTextSchema),
});
export type BackendsPatch = z.infer<typeof backendsPatchSchema>;
export type TaskSpec = z.infer<typeof taskSpecSchema>;

export const logRequestSchema = z.object({
  tail: z.int().min(0).max(10_000_000).nullable(),
  /** Epoch seconds. */
  since: z
    .number()
    .min(0)
    .max(MAX_EPOCH_MS / 1000)
    .nullable(),
  follow: z.boolean(),
});
export type LogRequest = z.infer<typeof logRequestSchema>;

/** Far above what one node runs or an agent buffers (1,000 events), well below what hurts. */
const MAX_REPORTED_TASKS = 10_000;
const MAX_REPORTED_EVENTS = 5000;
const MAX_LOG_LINES_PER_CHUNK = 10_000;

export const agentMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    node: nodeRegistrationSchema,
    agent_version: z.string().max(64),
    /** The cluster the agent's data dir belongs to; absent or null for a fresh agent. */
    cluster_id: z.string().max(64).nullable().optional(),
    /** Absent from agents older than features (see features.ts). */
    protocol_version: z.int().min(1).max(1_000_000).optional(),
    features: z.array(z.string().max(64)).max(256).optional(),
  }),
  z.object({ type: z.literal('heartbeat') }),
  /**
   * `full` reports list every task the agent manages; the server forgets observations of tasks
   * missing from a full report. Events the agent recorded (also while disconnected) ride along.
   */
  z.object({
    type: z.literal('report'),
    generation: z.int(),
    full: z.boolean(),
    tasks: z.array(taskObservationSchema).max(MAX_REPORTED_TASKS),
    /** Tasks whose containers are gone since the last report. */
    removed: z.array(idTextSchema).max(MAX_REPORTED_TASKS),
    events: z.array(eventInputSchema.extend({ at: epochMsSchema })).max(MAX_REPORTED_EVENTS),
  }),
  z.object({
    type: z.literal('logs.chunk'),
    request_id: idTextSchema,
    lines: z
      .array(
        z.object({
          at: z.string().max(64),
          stream: z.enum(['stdout', 'stderr']),
          text: boundedTextSchema(MAX_LOG_LINE_CHARS),
        }),
      )
      .max(MAX_LOG_LINES_PER_CHUNK),
  }),
  z.object({
    type: z.literal('logs.end'),
    request_id: idTextSchema,
    error: boundedTextSchema(MAX_STATUS_MESSAGE_CHARS).nullable(),
  }),
  /** The agent has applied the endpoints of this generation (server/address-release.ts). */
  z.object({ type: z.literal('endpoints.ack'), generation: z.int().min(0) }),
  /** A delta did not follow the set the agent holds: it asks for the whole set (`endpoints-delta`). */
  z.object({ type: z.literal('endpoints.resync') }),
  /** The agent's counters since it started, to a server whose welcome lists `agent-metrics`. */
  agentMetricsMessageSchema,
  /** Resource usage of the node and its replicas, to a server whose welcome lists `stats` (stats-message.ts). */
  statsMessageSchema,
  /** The engine's images, to a server whose welcome lists `images` (images-message.ts). */
  imagesMessageSchema,
  imagesPrunedMessageSchema,
  /** The Skiff volumes on the node, to a server whose welcome lists `volumes` (volume-messages.ts). */
  volumesMessageSchema,
  ...execAgentMessages,
  ...nodeProbeAgentMessages,
  ...pullAgentMessages,
]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    node_id: idTextSchema,
    cluster_id: idTextSchema,
    /** The cluster's address pool (CIDR); a server from before pools were configurable sends none. */
    address_pool: z.string().max(18).default(DEFAULT_ADDRESS_POOL),
    heartbeat_interval_ms: z.int().min(1).max(60_000),
    /** Send `stats` and `agent.metrics` no more often than this (a large cluster); absent: the agent's own. */
    stats_interval_ms: z.int().min(1000).max(3_600_000).optional(),
    /** What the server reads beyond the baseline (features.ts `SERVER_FEATURES`); absent from older servers. */
    features: z.array(z.string().max(64)).max(256).optional(),
  }),
  z.object({ type: z.literal('assign'), generation: z.int(), tasks: z.array(taskSpecSchema) }),
  /**
   * To an agent that lists `prepared-replicas`: the whole set of replicas it should hold prepared
   * (created, not started) for a silent node's failover. One that an assignment names becomes that
   * task's container and is started; the others, once no longer listed, are removed.
   */
  z.object({ type: z.literal('prepare'), tasks: z.array(taskSpecSchema).max(10_000) }),
  /**
   * To an agent that lists `heartbeat-interval`: beat at this interval from now on (the cluster
   * grew since its welcome said one; server/node-liveness.ts).
   */
  z.object({
    type: z.literal('heartbeat.interval'),
    heartbeat_interval_ms: z.int().min(1).max(60_000),
    /** As in the welcome: the cluster grew, stats and agent metrics no more often than this. */
    stats_interval_ms: z.int().min(1000).max(3_600_000).optional(),
  }),
  /** Every service's serving replicas, for the proxies and DNS of every host; sent whole on change. */
  z.object({
    type: z.literal('endpoints'),
    /** Grows with every change; acknowledged by the agent, so freed addresses can be reused. */
    generation: z.int().min(0).optional(),
    services: z.array(serviceEndpointsSchema),
    /**
     * Every node's address: the only sources let through to this node's node-to-node published
     * ports. Absent (an older server): the agent leaves those ports unfiltered.
     */
    node_addresses: z.array(z.string().max(253)).max(100_000).optional(),
  }),
  /**
   * What changed since `base_generation` (the generation last sent over this connection), to an
   * agent that lists `endpoints-delta`: services added or changed (whole), services removed (by
   * name), and every node's address only when those changed. Applied to the set of
   * `base_generation`, it gives the set of `generation` (net/data-plane/endpoints-delta.ts).
   */
  z.object({
    type: z.literal('endpoints.delta'),
    generation: z.int().min(0),
    base_generation: z.int().min(0),
    services: z.array(serviceEndpointsSchema),
    removed: z.array(idTextSchema),
    /** Absent: unchanged since `base_generation`. */
    node_addresses: z.array(z.string().max(253)).max(100_000).optional(),
    /**
     * To an agent that lists `endpoints-backend-delta`: services whose name, VIP, networks,
     * ports and aliases are as the agent holds them, with only the backends added or changed
     * (whole) and removed (by task id) since `base_generation`. Absent: none.
     */
    patched: z.array(backendsPatchSchema).optional(),
  }),
  z.object({
    type: z.literal('logs.start'),
    request_id: idTextSchema,
    task_id: idTextSchema,
    request: logRequestSchema,
  }),
  z.object({ type: z.literal('logs.cancel'), request_id: idTextSchema }),
  /** Remove the unused images Skiff pulled, now (`skiff image prune`); to agents listing `images`. */
  imagesPruneMessageSchema,
  /** Volumes the node should remove once no container has them (volume-messages.ts). */
  volumesRemoveMessageSchema,
  ...execServerMessages,
  ...nodeProbeServerMessages,
  ...pullServerMessages,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** Close codes the server uses so an agent knows whether retrying can help. */
export const CLOSE_CODES = {
  /** Another agent with the same name is connected from a different engine. */
  nameConflict: 4009,
  /** The agent's data dir belongs to another cluster: retrying cannot help until it is reset. */
  clusterMismatch: 4010,
  /**
   * The hello names a node other than the one the connection's certificate names. (It shared
   * 4011 with addressPoolOverlap, which the server reads as "this host overlaps the pool".)
   */
  identityMismatch: 4012,
  badMessage: 4000,
  /** The agent's host overlaps the cluster's address pool: it refuses to run replicas. */
  addressPoolOverlap: 4011,
  serverShutdown: 1001,
  /** The agent's protocol version is outside what the server accepts (compatibility.ts). */
  protocolUnsupported: 4013,
  /** This server does not lead: the close reason is the leader's URL, which the agent dials next. */
  notLeader: 4015,
  /** This server does not lead and no leader is known yet (an election is under way): retry soon. */
  noLeader: 4016,
} as const;
