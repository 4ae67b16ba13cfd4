/**
 * What `GET /api/images` answers and `POST /api/images/prune` takes and answers: the images on
 * every node's engine (one row per node, image and repository:tag; one row for an untagged image),
 * as the nodes' agents last reported them, and what a prune removed per node.
 */
import { z } from 'zod';

export const imageViewSchema = z.object({
  node: z.string(),
  /** Null for an untagged image. */
  repository: z.string().nullable(),
  tag: z.string().nullable(),
  /** The engine's image id (`sha256:<hex>`). */
  id: z.string(),
  /** The content digest it was pulled by (`sha256:<hex>`), when the engine knows one. */
  digest: z.string().nullable(),
  size_bytes: z.int().min(0),
  /** Containers using it (first 16 names), and how many in all: replicas, and anything else on the engine. */
  in_use_by: z.array(z.string()),
  in_use_count: z.int().min(0),
  /** Pulled by Skiff's agent: only these are ever removed by garbage collection or a prune. */
  pulled_by_skiff: z.boolean(),
  /** When the agent last saw it in use (RFC 3339), null when it never did. */
  last_used_at: z.string().nullable(),
});
export type ImageView = z.infer<typeof imageViewSchema>;

export const imagePruneRequestSchema = z.strictObject({
  /** One node; absent, every connected node. */
  node: z.string().min(1).max(253).optional(),
});

export const imagePruneViewSchema = z.object({
  nodes: z.array(
    z.object({
      node: z.string(),
      removed: z.array(
        z.object({ id: z.string(), references: z.array(z.string()), size_bytes: z.int().min(0) }),
      ),
      reclaimed_bytes: z.int().min(0),
      /** Why this node did not prune (not connected, an agent without the feature, the engine's error). */
      error: z.string().nullable(),
    }),
  ),
  reclaimed_bytes: z.int().min(0),
});
export type ImagePruneView = z.infer<typeof imagePruneViewSchema>;
