/**
 * What an agent can do, said in its hello, so a cluster can be upgraded one host at a time: the
 * server never assigns a replica whose spec needs a feature its node's agent lacks (the replica
 * stays pending, saying which feature). One list, here: an agent offers `AGENT_FEATURES`; a spec
 * needs what `requiredFeatures` says.
 */
import type { ServiceSpec } from '../model/service-spec.ts';

/** The protocol this code speaks; a hello without one is from before features were announced. */
export const PROTOCOL_VERSION = 2;

/** Features of the agent protocol and the data plane, by name. */
export const FEATURES = {
  /** `health_check.type: exec`. */
  execHealth: 'exec-health',
  /** Published ports (`host_port`, ingress or host mode). */
  publishedPorts: 'published-ports',
  /** `app_protocol: http`: per-request balancing in the agent's proxy. */
  httpProxy: 'http-proxy',
  /** `init: true`: Docker's init as PID 1. */
  init: 'init',
  /** `stop_signal`: a signal other than SIGTERM to stop a replica. */
  stopSignal: 'stop_signal',
  /** The spec's privilege block (privileged, cap_add, host namespaces, devices, sysctls, …) applied, and admission checked. */
  containerPrivileges: 'container-privileges',
  /** `secrets`/`configs` written as files from `secret_files`, never saved to disk. */
  secretFiles: 'secret-files',
  /** Acknowledges each endpoints generation (`endpoints.ack`), so freed addresses can be reused. */
  endpointsAck: 'endpoints-ack',
  /** Sends `agent.metrics` (its counters: src/metrics/agent-counters.ts) to a server whose welcome lists it. */
  agentMetrics: 'agent-metrics',
  /** Sends `stats` messages (resource usage); the server asks for them by listing it in its welcome. */
  stats: 'stats',
  /** `entrypoint`, `working_dir`, `extra_hosts`, `ulimits`, `tmpfs` applied to the container. */
  containerRuntime: 'container-runtime',
  /** Its DNS answers services' `aliases` (a stack's short Compose names). */
  serviceAliases: 'service-aliases',
  /** Runs `exec.start` requests: a command in a replica, with stdin, output, TTY and exit code. */
  exec: 'exec',
  /** Answers `probe.node`: whether another node's replicas accept connections (indirect probes). */
  nodeProbe: 'node-probe',
  /** Pulls an image when asked (`image.pull`), before a rollout replaces anything (reconciler/pre-pull.ts). */
  prePull: 'pre-pull',
  /**
   * Reports its engine's images (`images`, to a server whose welcome lists it) and answers
   * `images.prune`; the server lists it when it keeps the images (image locality, `skiff image ls`).
   */
  images: 'images',
  /**
   * `volumes` mounted (named volumes created and labelled, binds, tmpfs); the agent sends
   * `volumes` reports to a server whose welcome lists it and removes volumes on `volumes.remove`.
   */
  volumes: 'volumes',
  /**
   * Applies `endpoints.delta` (the services changed since the generation it was last sent) to its
   * set, and asks for the whole set (`endpoints.resync`) when a delta does not follow it. An agent
   * without it is sent the whole set on every change, as before.
   */
  endpointsDelta: 'endpoints-delta',
  /**
   * Applies an `endpoints.delta`'s `patched` services: only the backends added, changed or removed
   * since the delta's base, for a service otherwise as the agent holds it (a replica replaced in a
   * service of 95 costs its two backends, not the service's 13 KB, times the nodes). An agent with
   * `endpoints-delta` alone is sent such services whole.
   */
  endpointsBackendDelta: 'endpoints-backend-delta',
  /**
   * Holds replicas prepared for a silent node's failover (`prepare`: created, not started; the
   * whole set each time, cleared at every welcome) and starts one when an assignment makes it a
   * task's container (server/prepare-plan.ts, agent/prepared-replicas.ts).
   */
  preparedReplicas: 'prepared-replicas',
  /**
   * Takes `heartbeat.interval`: a longer heartbeat interval than its welcome said, once the
   * cluster has grown (server/node-liveness.ts), and pings its server as much less often.
   */
  heartbeatInterval: 'heartbeat-interval',
  /**
   * Its pings are its heartbeats: to a server whose welcome lists it, the agent sends no
   * `heartbeat` messages and pings once per heartbeat interval; the server counts every ping as a
   * beat (from any agent) and its pong is the agent's sign of the server (agent/server-silence.ts).
   */
  pingHeartbeat: 'ping-heartbeat',
} as const;

/** What this agent supports. */
export const AGENT_FEATURES: readonly string[] = Object.values(FEATURES);

/**
 * What this server reads, said in its welcome: an agent sends a message of a later feature (such
 * as `stats` or `agent.metrics`) only to a server that lists it, so an older server's log is not
 * filled with "unknown type" lines.
 */
export const SERVER_FEATURES: readonly string[] = [
  FEATURES.stats,
  FEATURES.agentMetrics,
  FEATURES.images,
  FEATURES.volumes,
  FEATURES.pingHeartbeat,
];

/** What every agent could do before hellos carried features: an agent that names none has these. */
export const BASELINE_FEATURES: readonly string[] = [
  FEATURES.execHealth,
  FEATURES.publishedPorts,
  FEATURES.httpProxy,
];

/** The features a replica of this spec needs from its node's agent. */
export function requiredFeatures(spec: ServiceSpec): string[] {
  // Read by name: fields added to the spec after this list still gate on it.
  const fields = spec as unknown as Record<string, unknown>;
  const needs: string[] = [];
  if (spec.health_check?.type === 'exec') needs.push(FEATURES.execHealth);
  if (spec.ports.some((p) => p.host_port !== undefined)) needs.push(FEATURES.publishedPorts);
  if (spec.ports.some((p) => p.app_protocol === 'http')) needs.push(FEATURES.httpProxy);
  if (fields.init === true) needs.push(FEATURES.init);
  if (fields.stop_signal !== undefined) needs.push(FEATURES.stopSignal);
  // An agent from before these would run the replica without its privileges or files, silently.
  const privileged = [
    'privileged',
    'cap_add',
    'cap_drop',
    'user',
    'read_only',
    'network_mode',
    'pid_mode',
    'ipc_mode',
    'uts_mode',
    'userns_mode',
    'devices',
    'sysctls',
    'seccomp',
    'apparmor',
  ];
  if (privileged.some((field) => fields[field] !== undefined)) needs.push(FEATURES.containerPrivileges);
  if (spec.secrets?.length || spec.configs?.length) needs.push(FEATURES.secretFiles);
  const runtime = ['entrypoint', 'working_dir', 'extra_hosts', 'ulimits', 'tmpfs'];
  if (runtime.some((field) => fields[field] !== undefined)) needs.push(FEATURES.containerRuntime);
  // A stack's replicas call each other by alias: a node whose DNS does not know aliases cannot run them.
  if (Array.isArray(fields.aliases) && fields.aliases.length > 0) needs.push(FEATURES.serviceAliases);
  if (Array.isArray(fields.volumes) && fields.volumes.length > 0) needs.push(FEATURES.volumes);
  return needs;
}
