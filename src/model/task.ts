/**
 * A task is one replica of one revision of a service, bound to a slot and (once placed) to a
 * node. Desired state lives in the store; observed state comes from the agent that runs it.
 */
import { z } from 'zod';
import { boundedTextSchema, epochMsSchema, idTextSchema, MAX_STATUS_MESSAGE_CHARS } from './bounds.ts';

export const desiredStateSchema = z.enum(['running', 'shutdown']);
export type DesiredState = z.infer<typeof desiredStateSchema>;

/**
 * What an agent observed of a task's container. `pending` is the server's own word for a task no
 * node could take; the others come from the agent.
 */
export const observedStateSchema = z.enum([
  'pending',
  'assigned',
  'pulling',
  'starting',
  'running',
  'exited',
  'failed',
  'backoff',
  'stopping',
]);
export type ObservedState = z.infer<typeof observedStateSchema>;

export const healthSchema = z.enum(['none', 'starting', 'healthy', 'unhealthy']);
export type Health = z.infer<typeof healthSchema>;

export const publishedPortSchema = z.object({
  container_port: z.int().min(0).max(65535),
  host_port: z.int().min(0).max(65535),
  protocol: z.enum(['tcp', 'udp']),
});
export type PublishedPort = z.infer<typeof publishedPortSchema>;

/** The agent's account of one task, sent in reports. */
export const taskObservationSchema = z.object({
  task_id: idTextSchema,
  state: observedStateSchema,
  container_id: idTextSchema.nullable(),
  health: healthSchema,
  message: boundedTextSchema(MAX_STATUS_MESSAGE_CHARS).nullable(),
  /** Wider than a process's 0-255: engines report -1 and Windows-style 32-bit codes. */
  exit_code: z
    .int()
    .min(-(2 ** 31))
    .max(2 ** 32)
    .nullable(),
  restart_count: z.int().min(0).max(1_000_000_000),
  ports: z.array(publishedPortSchema).max(1024),
  /** When the agent will try again (epoch ms), for replicas that are backing off. */
  retry_at: epochMsSchema.nullable(),
  /** Since when it has been ready to serve (running, and healthy if checked), epoch ms. */
  ready_since: epochMsSchema.nullable(),
  /** The container's address on its first network, for the proxies on its own host. */
  ip: z.string().max(64).nullable(),
});
export type TaskObservation = z.infer<typeof taskObservationSchema>;

export interface Task {
  readonly id: string;
  readonly service: string;
  readonly slot: number;
  readonly revision: number;
  readonly nodeId: string | null;
  readonly desiredState: DesiredState;
  /** Why the scheduler could not place it, while unplaced. */
  readonly pendingReason: string | null;
  readonly createdAt: number;
}

/** A task with what its agent last reported of it: what the store holds and the cores read. */
export interface TaskRecord extends Task {
  readonly observed: TaskObservation | null;
}
