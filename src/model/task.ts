/**
 * A task is one replica of one revision of a service, bound to a slot and (once placed) to a
 * node. Desired state lives in the store; observed state comes from the agent that runs it.
 */
import { z } from 'zod';

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
  container_port: z.int(),
  host_port: z.int(),
  protocol: z.enum(['tcp', 'udp']),
});
export type PublishedPort = z.infer<typeof publishedPortSchema>;

/** The agent's account of one task, sent in reports. */
export const taskObservationSchema = z.object({
  task_id: z.string(),
  state: observedStateSchema,
  container_id: z.string().nullable(),
  health: healthSchema,
  message: z.string().nullable(),
  exit_code: z.int().nullable(),
  restart_count: z.int().min(0),
  ports: z.array(publishedPortSchema),
  /** When the agent will try again (epoch ms), for replicas that are backing off. */
  retry_at: z.number().nullable(),
  /** Since when it has been ready to serve (running, and healthy if checked), epoch ms. */
  ready_since: z.number().nullable(),
  /** The container's address on its first network, for the proxies on its own host. */
  ip: z.string().nullable(),
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
