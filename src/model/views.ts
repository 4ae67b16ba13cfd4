/**
 * The API's response shapes. The CLI and the dashboard read these and nothing else of the server.
 */
import { z } from 'zod';
import { looseCopy } from './loose.ts';
import { nodeAvailabilitySchema, nodeLabelsSchema, nodeStatusSchema } from './node.ts';
import { rolloutSchema } from './rollout.ts';
import { serviceSpecSchema } from './service-spec.ts';
import { healthSchema, observedStateSchema, publishedPortSchema } from './task.ts';

export const containerViewSchema = z.object({
  /** Docker container id (12 characters), null until a container exists. */
  id: z.string().nullable(),
  /** The replica's slot name, `api-server-0`. */
  name: z.string(),
  status: observedStateSchema,
  health: healthSchema,
  node_id: z.string().nullable(),
  task_id: z.string(),
  slot: z.int(),
  revision: z.int(),
  restart_count: z.int(),
  exit_code: z.int().nullable(),
  message: z.string().nullable(),
  retry_at: z.string().nullable(),
  ports: z.array(publishedPortSchema),
});
export type ContainerView = z.infer<typeof containerViewSchema>;

export const serviceStatusSchema = z.enum([
  'running',
  'starting',
  'updating',
  'pending',
  'failed',
  'degraded',
  'stopped',
]);
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

/**
 * Views are read by clients (the CLI, the dashboard) that may be older than the server: objects
 * here strip fields they do not know, so a new field in an answer never breaks an old reader.
 * The spec part is the strict input schema's loose copy, without its limits: a spec stored under
 * older limits still shows.
 */
export const serviceViewSchema = looseCopy(serviceSpecSchema, { checks: false }).extend({
  revision: z.int(),
  status: serviceStatusSchema,
  /** Replicas of the current revision that are running. */
  running: z.int(),
  healthy: z.int(),
  /** Why the service is not converged, when it is not. */
  message: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** The current or last rollout; null for services deployed before rollouts were recorded. */
  rollout: rolloutSchema.nullable(),
  containers: z.array(containerViewSchema),
});
export type ServiceView = z.infer<typeof serviceViewSchema>;

export const nodeViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: nodeStatusSchema,
  availability: nodeAvailabilitySchema,
  address: z.string(),
  labels: nodeLabelsSchema,
  engine_version: z.string(),
  cpu_millicores: z.int(),
  memory_bytes: z.int(),
  allocated_cpu_millicores: z.int(),
  allocated_memory_bytes: z.int(),
  containers: z.int(),
  joined_at: z.string(),
  last_heartbeat: z.string().nullable(),
  /** Why the node is not serving when its status alone does not say (`refused: …`); null otherwise. */
  message: z.string().nullable().default(null),
});
export type NodeView = z.infer<typeof nodeViewSchema>;

export const errorBodySchema = z.object({ error: z.string(), details: z.array(z.string()).optional() });
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const logLineSchema = z.object({
  timestamp: z.string(),
  container: z.string(),
  node_id: z.string().nullable(),
  stream: z.enum(['stdout', 'stderr']),
  line: z.string(),
});
export type LogLine = z.infer<typeof logLineSchema>;

/** `GET /api/servers`: every server of the cluster, who leads, and the store's health. */
export const serverViewSchema = z.object({
  id: z.string(),
  /** Where its API and agent port is reached (what agents are redirected to). */
  url: z.string(),
  leader: z.boolean(),
  /** When it started (ISO), and for the leader when it took the lead. */
  started_at: z.string().nullable(),
  leader_since: z.string().nullable(),
});
export type ServerView = z.infer<typeof serverViewSchema>;

export const serversViewSchema = z.object({
  /** The server that answered. */
  answered_by: z.string(),
  servers: z.array(serverViewSchema),
  store: z.object({
    kind: z.enum(['sqlite', 'etcd']),
    writable: z.boolean(),
    problem: z.string().nullable(),
    location: z.string(),
  }),
});
export type ServersView = z.infer<typeof serversViewSchema>;
