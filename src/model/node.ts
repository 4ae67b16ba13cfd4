/**
 * A node is one host running an agent. Capacity comes from its Docker engine (or is declared);
 * status is kept in memory by the server and changes with the agent's connection.
 */
import { z } from 'zod';
import { boundedRecordSchema } from './bounds.ts';

export const nodeStatusSchema = z.enum(['ready', 'unreachable', 'down']);
export type NodeStatus = z.infer<typeof nodeStatusSchema>;

/** Label keys as long as a DNS name, values as long as a path: far past real use, short of harm. */
export const nodeLabelsSchema = boundedRecordSchema(z.string().min(1).max(253), z.string().max(1024), 128);

/** What operators allow on a node: `cordoned` takes nothing new, `draining` also moves its replicas away. */
export const nodeAvailabilitySchema = z.enum(['active', 'cordoned', 'draining']);
export type NodeAvailability = z.infer<typeof nodeAvailabilitySchema>;

/** What an agent says about its host when it registers. */
export const nodeRegistrationSchema = z.object({
  name: z.string().min(1).max(253),
  engine_id: z.string().max(256),
  address: z.string().max(253),
  labels: nodeLabelsSchema,
  /** At most a million cores and a pebibyte of memory: sums over nodes stay exact. */
  cpu_millicores: z.int().positive().max(1_000_000_000),
  memory_bytes: z
    .int()
    .positive()
    .max(2 ** 50),
  engine_version: z.string().max(128),
});
export type NodeRegistration = z.infer<typeof nodeRegistrationSchema>;
