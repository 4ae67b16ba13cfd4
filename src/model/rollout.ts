/**
 * A rollout: the move of a service from one revision to another, as recorded on the service.
 * `rolled_back` means the new revision failed and the previous one was restored; `failed` means it
 * failed with auto_rollback off and waits for a fix or an undo.
 */
import { z } from 'zod';

export const rolloutSchema = z.object({
  state: z.enum(['in_progress', 'complete', 'rolled_back', 'failed']),
  /** The revision it started from; null for a service's first deploy. */
  from_revision: z.int().nullable(),
  to_revision: z.int(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  message: z.string().nullable(),
});
export type Rollout = z.infer<typeof rolloutSchema>;

export const revisionViewSchema = z.object({
  revision: z.int(),
  image: z.string(),
  created_at: z.string(),
  current: z.boolean(),
});
export type RevisionView = z.infer<typeof revisionViewSchema>;

export const rollbackRequestSchema = z.strictObject({
  /** The revision to return to; by default the one the current rollout started from, or the one before. */
  revision: z.int().min(1).optional(),
});
