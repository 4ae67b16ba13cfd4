/**
 * Volume messages. An agent reports the Skiff volumes its engine holds (`volumes`, the whole list,
 * whenever it changes and after each welcome) to a server whose welcome lists the `volumes`
 * feature; the server keeps where each volume is (the scheduler pins replicas to it) and asks a
 * node to remove volumes (`volumes.remove`), which the agent does once no container has them.
 */
import { z } from 'zod';
import { epochMsSchema, idTextSchema } from '../model/bounds.ts';

/** Far above what one node holds; the bound on one message. */
export const MAX_REPORTED_VOLUMES = 10_000;

export const volumeNameSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/);

export const reportedVolumeSchema = z.object({
  name: volumeNameSchema,
  service: z.string().max(256),
  slot: z.int().min(0).max(1_000_000).nullable(),
  created_at: epochMsSchema.nullable(),
  /** Tasks whose containers (running or not) mount it. */
  used_by: z.array(idTextSchema).max(1000),
});
export type ReportedVolume = z.infer<typeof reportedVolumeSchema>;

export const volumesMessageSchema = z.object({
  type: z.literal('volumes'),
  volumes: z.array(reportedVolumeSchema).max(MAX_REPORTED_VOLUMES),
});

export const volumesRemoveMessageSchema = z.object({
  type: z.literal('volumes.remove'),
  names: z.array(volumeNameSchema).max(MAX_REPORTED_VOLUMES),
});
