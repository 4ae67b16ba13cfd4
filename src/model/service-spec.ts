/**
 * The service spec: what `POST /api/deploy` accepts and what the store keeps, fields named as in
 * the spec (`container_port`, `cpu_shares`, `memory_mb`, `health_check`...). Unknown fields are
 * rejected so a typo never silently does nothing.
 */
import { z } from 'zod';
import { autoscalePolicySchema } from './autoscale-policy.ts';
import { boundedRecordSchema } from './bounds.ts';
import { containerRuntimeShape } from './container-runtime.ts';
import { durationSchema, durationWithin } from './duration.ts';
import { imageReferenceSchema } from './image-reference.ts';
import { SERVICE_NAME_PATTERN } from './names.ts';
import { secretRefSchema } from './secret-ref.ts';
import { volumesShape } from './volume-spec.ts';

/** An env or label value, one command argument: 64 KiB each, while the whole body is at most 1 MiB. */
const MAX_VALUE_CHARS = 64 * 1024;

/**
 * A command line as exec takes it: up to 1024 arguments, the first (the program) not empty.
 * Later arguments may be empty (`sh -c ""` is a real command).
 */
const commandSchema = z
  .array(z.string().max(MAX_VALUE_CHARS))
  .min(1)
  .max(1024)
  .refine((args) => (args[0] ?? '').trim() !== '', {
    message: 'the first argument (the program) must not be empty',
    path: [0],
  });

export const portSchema = z.strictObject({
  container_port: z.int().min(1).max(65535),
  /**
   * Published on the cluster: in `ingress` mode every node's proxy serves it and balances across
   * the replicas wherever they run (a routing mesh); in `host` mode the replica binds it on its
   * own node, so one replica per node can have it.
   */
  host_port: z.int().min(1).max(65535).optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  mode: z.enum(['ingress', 'host']).default('ingress'),
  /** `http` makes the proxy balance per request (X-Forwarded-For, retries on refused connects). */
  app_protocol: z.enum(['tcp', 'http']).default('tcp'),
  /** How the proxies pick a replica: in turn (the default), or the one with the fewest requests in flight. */
  balance: z.enum(['round-robin', 'least-connections']).optional(),
});

export const resourcesSchema = z.strictObject({
  /** Relative CPU weight under contention (Docker CpuShares); reserves nothing. */
  cpu_shares: z.int().min(2).max(262144).optional(),
  /**
   * Hard CPU limit in cores (fractional allowed); also reserved on the node when scheduling. At
   * least 0.01, Docker's own floor: less would round to no limit and no reservation at all.
   */
  cpus: z.number().min(0.01).max(1024).optional(),
  /** Hard memory limit in MiB; also reserved on the node when scheduling. */
  memory_mb: z.int().min(6).max(4_194_304).optional(),
});

export const healthCheckSchema = z
  .strictObject({
    type: z.enum(['http', 'tcp', 'exec']),
    endpoint: z.string().min(1).max(2048).optional(),
    path: z.string().startsWith('/').max(2048).optional(),
    port: z.int().min(1).max(65535).optional(),
    command: commandSchema.optional(),
    /** At least 100ms: a shorter interval is a probe loop, not a health check. */
    interval: durationWithin(100).default('10s'),
    timeout: durationWithin(1).default('2s'),
    retries: z.int().min(1).max(100).default(3),
    start_period: durationSchema.default('0s'),
  })
  .superRefine((check, ctx) => {
    if (check.type === 'http' && !check.endpoint && !check.port) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: 'http checks need an endpoint or a port' });
    }
    if (check.type === 'tcp' && !check.port && !check.endpoint) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: 'tcp checks need a port' });
    }
    if (check.type === 'exec' && !check.command) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'exec checks need a command' });
    }
  });

export const restartPolicySchema = z.strictObject({
  condition: z.enum(['always', 'on-failure', 'never']).default('always'),
  max_attempts: z.int().min(1).max(1_000_000).optional(),
  /** First delay after the immediate restart; doubles on each failure up to max_delay. */
  delay: durationSchema.default('1s'),
  max_delay: durationSchema.default('1m'),
});

/** `key==value` / `key!=value` on node labels; the key `node` means the node's id. */
export const CONSTRAINT_PATTERN = /^([A-Za-z0-9_./-]+)\s*(==|!=)\s*([^\s=!]+)$/;

export const placementSchema = z.strictObject({
  constraints: z
    .array(z.string().max(512).regex(CONSTRAINT_PATTERN, 'must look like "zone==eu-1" or "node!=node-3"'))
    .max(32)
    .default([]),
  /** binpack fills nodes before using new ones; spread keeps nodes evenly loaded. */
  strategy: z.enum(['binpack', 'spread']).default('binpack'),
  /**
   * At most this many of the service's replicas on one node (Swarm's `max_replicas_per_node`):
   * the rest wait, with the reason, until nodes are free. Absent: no bound beyond anti-affinity.
   */
  max_replicas_per_node: z.int().min(1).max(1000).optional(),
});

/**
 * How a changed spec rolls out: start-first with at most `max_surge` extra replicas and at most
 * `max_unavailable` fewer serving ones; each new replica must stay ready for `min_healthy_time`
 * before the next step; one not ready within `healthy_deadline` fails the rollout, which rolls
 * back by itself when `auto_rollback`. Old replicas leave the rotation and get `drain_timeout` to
 * finish in-flight requests before SIGTERM.
 */
export const updatePolicySchema = z
  .strictObject({
    max_surge: z.int().min(0).max(1000).default(1),
    max_unavailable: z.int().min(0).max(1000).default(0),
    min_healthy_time: durationSchema.default('2s'),
    healthy_deadline: durationSchema.default('60s'),
    auto_rollback: z.boolean().default(true),
    drain_timeout: durationSchema.default('2s'),
    /**
     * When the image changes, every node the new revision may run on pulls it before the first
     * old replica is replaced (reconciler/pre-pull.ts); false: each node pulls when its new
     * replica starts. Absent means true (optional, so specs stored before it stay the same revision).
     */
    pre_pull: z.boolean().optional(),
    /** A pull phase not finished on every node within this long fails the rollout (absent: 5m). */
    pull_deadline: durationSchema.optional(),
  })
  .refine((policy) => policy.max_surge > 0 || policy.max_unavailable > 0, {
    message: 'max_surge and max_unavailable cannot both be 0 (the rollout could never make progress)',
    path: ['max_surge'],
  });

/** Signals a replica can be asked to stop with: the ones programs use for "shut down". */
export const STOP_SIGNALS = [
  'SIGTERM',
  'SIGINT',
  'SIGQUIT',
  'SIGHUP',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
  'SIGKILL',
] as const;
/**
 * Container privileges and namespaces (Docker HostConfig settings real services sometimes need).
 * Kept in one block, spread into the spec: the admission policy (src/policy) decides which of them
 * a service may use, on the server at deploy and again on the agent before it creates a container.
 * All optional with no defaults, so specs stored before they existed keep their revision.
 */
const CAPABILITY = /^(ALL|[A-Z][A-Z0-9_]*)$/;
const capabilitySchema = z
  .string()
  .regex(CAPABILITY, 'must be a capability name in capitals, e.g. NET_ADMIN')
  .refine((cap) => !cap.startsWith('CAP_'), { message: 'must be given without the CAP_ prefix' });
/** `/dev/fuse`, or `HOST:CONTAINER[:PERMISSIONS]` like `/dev/sda:/dev/xvda:rwm` (Docker's form). */
const DEVICE = /^\/dev\/[A-Za-z0-9._/-]+(:\/dev\/[A-Za-z0-9._/-]+)?(:[rwm]{1,3})?$/;
const SYSCTL = /^[a-z0-9_]+(\.[a-z0-9_*-]+)+$/;

export const containerPrivilegesShape = {
  privileged: z.boolean().optional(),
  cap_add: z.array(capabilitySchema).max(64).optional(),
  cap_drop: z.array(capabilitySchema).max(64).optional(),
  /** `user`, `uid`, `user:group` or `uid:gid`, as `docker run --user`. */
  user: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}(:[A-Za-z0-9_.-]{1,64})?$/, 'must be NAME, UID, NAME:GROUP or UID:GID')
    .optional(),
  /** The container's root filesystem mounted read-only. */
  read_only: z.boolean().optional(),
  /** The host's network namespace instead of the service's networks (no VIP, no name on them). */
  network_mode: z.literal('host').optional(),
  pid_mode: z.literal('host').optional(),
  ipc_mode: z.literal('host').optional(),
  uts_mode: z.literal('host').optional(),
  userns_mode: z.literal('host').optional(),
  devices: z
    .array(z.string().regex(DEVICE, 'must look like /dev/fuse or /dev/sda:/dev/xvda:rwm'))
    .max(32)
    .optional(),
  sysctls: z
    .record(
      z.string().regex(SYSCTL, 'must be a sysctl name like net.ipv4.tcp_syncookies'),
      z.string().max(256),
    )
    .optional(),
  seccomp: z.enum(['default', 'unconfined']).optional(),
  apparmor: z.enum(['default', 'unconfined']).optional(),
};

/**
 * Secrets and configs the replicas see as files (values live in the secret store, never here).
 * A separate block, like the privileges above, spread into the spec.
 */
export const secretReferencesShape = {
  secrets: z.array(secretRefSchema).max(64).optional(),
  configs: z.array(secretRefSchema).max(64).optional(),
};

const envKey = z
  .string()
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name');

export const serviceSpecSchema = z.strictObject({
  name: z
    .string()
    .regex(SERVICE_NAME_PATTERN, 'must be lowercase letters, digits and dashes (a DNS label, at most 63)'),
  image: imageReferenceSchema,
  /**
   * When a node pulls a tag it already has: `missing` (the default, also when absent) never,
   * `always` asks the registry at every container create. A digest is never pulled again.
   */
  pull: z.enum(['always', 'missing']).optional(),
  replicas: z.int().min(0).max(1000).default(1),
  /**
   * `global`: one replica on every node that matches the placement constraints, following nodes
   * as they join, leave, drain or change labels (`replicas` is then ignored). Unset: replicated.
   */
  mode: z.enum(['replicated', 'global']).optional(),
  /** Scale between min and max on CPU and/or memory per replica (src/autoscale). */
  autoscale: autoscalePolicySchema.optional(),
  ports: z.array(portSchema).max(64).default([]),
  resources: resourcesSchema.default({}),
  env: boundedRecordSchema(envKey, z.string().max(MAX_VALUE_CHARS), 1024).default({}),
  command: commandSchema.optional(),
  health_check: healthCheckSchema.optional(),
  restart_policy: restartPolicySchema.default({
    condition: 'always',
    delay: '1s',
    max_delay: '1m',
  }),
  labels: boundedRecordSchema(z.string().min(1).max(1024), z.string().max(MAX_VALUE_CHARS), 256).default({}),
  /** Networks the replicas join; services see each other by name only within a shared network. */
  networks: z
    .array(z.string().regex(SERVICE_NAME_PATTERN, 'network names are lowercase letters, digits and dashes'))
    .min(1)
    .max(8)
    .refine((names) => new Set(names).size === names.length, 'must not name a network twice')
    .default(['default']),
  placement: placementSchema.default({ constraints: [], strategy: 'binpack' }),
  update: updatePolicySchema.default({
    max_surge: 1,
    max_unavailable: 0,
    min_healthy_time: '2s',
    healthy_deadline: '60s',
    auto_rollback: true,
    drain_timeout: '2s',
  }),
  /** SIGTERM (or `stop_signal`), then SIGKILL after this long, when a replica is stopped. */
  stop_grace_period: durationSchema.default('10s'),
  /**
   * Run Docker's init (tini) as PID 1: it forwards signals to the image's process and reaps
   * zombies. A process that is PID 1 gets only the signals it installed handlers for, so without
   * one a stop waits out the whole grace period.
   */
  init: z.boolean().optional(),
  /** The signal that asks a replica to stop (the image's own STOPSIGNAL when absent). */
  stop_signal: z.enum(STOP_SIGNALS).optional(),
  ...containerPrivilegesShape,
  ...secretReferencesShape,
  ...containerRuntimeShape,
  ...volumesShape,
});

/** What clients send (defaults optional). */
export type ServiceSpecInput = z.input<typeof serviceSpecSchema>;
/** What the store keeps (defaults applied). */
export type ServiceSpec = z.output<typeof serviceSpecSchema>;
export type PortSpec = z.output<typeof portSchema>;
export type Resources = z.output<typeof resourcesSchema>;
export type HealthCheck = z.output<typeof healthCheckSchema>;
export type RestartPolicy = z.output<typeof restartPolicySchema>;
export type PullPolicy = 'always' | 'missing';
export type Placement = z.output<typeof placementSchema>;
export type UpdatePolicy = z.output<typeof updatePolicySchema>;

export const scaleRequestSchema = z.strictObject({ replicas: z.int().min(0).max(1000) });

/**
 * The spec with its maps (env, labels) in key order, so the same spec sent with its keys in
 * another order is the same revision, not a pointless rollout.
 */
export function canonicalSpec(spec: ServiceSpec): ServiceSpec {
  return { ...spec, env: sortedRecord(spec.env), labels: sortedRecord(spec.labels) };
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A port the replica binds on its own node (not through the routing mesh). */
export function bindsHostPort(port: PortSpec): boolean {
  return port.mode === 'host' && port.host_port !== undefined;
}
