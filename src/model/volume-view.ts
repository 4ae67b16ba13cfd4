/**
 * What `GET /api/volumes` answers: one row per volume and node holding it (a volume moved away
 * from a node that still has its old copy has two), with the replica that uses it. Read by the
 * CLI (`skiff volume ls|inspect`); objects strip fields they do not know, as every view does.
 */
import { z } from 'zod';

export const volumeViewSchema = z.object({
  name: z.string(),
  /** The node holding it (or, for a move not carried out yet, the node it was moved to). */
  node: z.string(),
  /** That node's status as the server sees it (`ready`, `unreachable`, `down`), null when unknown. */
  node_status: z.string().nullable(),
  service: z.string().nullable(),
  slot: z.int().nullable(),
  /** The replica's slot name (`db-0`) the volume belongs to. */
  replica: z.string().nullable(),
  created_at: z.string().nullable(),
  /** Replicas whose containers mount it now (`db-0`), from the node's report. */
  used_by: z.array(z.object({ task_id: z.string(), replica: z.string().nullable() })),
  /**
   * `present`: the node reports it. `moved`: an operator moved it here, and it is created when its
   * replica starts. `stale`: the node reports it but the volume was moved elsewhere (the old copy).
   * `removing`: a removal was asked for, waiting for its node (and for no container to have it).
   */
  state: z.enum(['present', 'moved', 'stale', 'removing']),
});
export type VolumeView = z.infer<typeof volumeViewSchema>;

export const volumeMoveRequestSchema = z.strictObject({
  /** The node the volume's replica runs on from now on (with an empty volume unless it holds one). */
  to: z.string().min(1).max(253),
});

export const volumeRemoveViewSchema = z.object({
  removing: z.string(),
  /** Nodes asked to remove it now (connected ones holding it); others are asked when they report. */
  nodes: z.array(z.string()),
});
