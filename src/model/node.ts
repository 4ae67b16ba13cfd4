/**
 * A node is one host running an agent. Capacity comes from its Docker engine (or is declared);
 * status is kept in memory by the server and changes with the agent's connection.
 */
import { z } from 'zod';

export const nodeStatusSchema = z.enum(['ready', 'unreachable', 'down']);
export type NodeStatus = z.infer<typeof nodeStatusSchema>;

export const nodeLabelsSchema = z.record(z.string().min(1), z.string());

/** What operators allow on a node: `cordoned` takes nothing new, `draining` also moves its replicas away. */
export const nodeAvailabilitySchema = z.enum(['active', 'cordoned', 'draining']);
export type NodeAvailability = z.infer<typeof nodeAvailabilitySchema>;

/** What an agent says about its host when it registers. */
export const nodeRegistrationSchema = z.object({
  name: z.string().min(1).max(253),
  engine_id: z.string(),
  address: z.string(),
  labels: nodeLabelsSchema,
  cpu_millicores: z.int().positive(),
  memory_bytes: z.int().positive(),
  engine_version: z.string(),
});
export type NodeRegistration = z.infer<typeof nodeRegistrationSchema>;
