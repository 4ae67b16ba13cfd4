/**
 * A rollout: the move of a service from one revision to another, as recorded on the service.
 * `rolled_back` means the new revision failed and the previous one was restored; `failed` means it
 * failed with auto_rollback off and waits for a fix or an undo.
 */
import { z } from 'zod';

/**
 * One node's part of a rollout's pull phase: `waiting` (not asked yet: the phase asks a bounded
 * number of nodes at once), `pulling`, `pulled` (or was already present), `failed` (with the
 * engine's reason), `skipped` (its agent cannot be asked to pull: it pulls when its replica starts).
 */
export const pullNodeSchema = z.object({
  node: z.string().max(256),
  state: z.enum(['waiting', 'pulling', 'pulled', 'failed', 'skipped']),
  message: z.string().max(4096).nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});
export type PullNode = z.infer<typeof pullNodeSchema>;

/**
 * A rollout's pull phase (reconciler/pre-pull.ts): every node the new revision may run on pulls
 * its image before the first old replica is replaced. `done` lets the rollout proceed; `failed`
 * fails it (or rolls it back) with nothing stopped.
 */
export const pullPhaseSchema = z.object({
  image: z.string().max(1024),
  state: z.enum(['pulling', 'done', 'failed']),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  nodes: z.array(pullNodeSchema).max(100_000),
});
export type PullPhase = z.infer<typeof pullPhaseSchema>;

export const rolloutSchema = z.object({
  state: z.enum(['in_progress', 'complete', 'rolled_back', 'failed']),
  /** The revision it started from; null for a service's first deploy. */
  from_revision: z.int().nullable(),
  to_revision: z.int(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  message: z.string().nullable(),
  /** The pull phase, when the image changed and the service pre-pulls; absent otherwise (and from older servers). */
  pull: pullPhaseSchema.optional(),
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

/** `pulling image app:v2 on 2 of 3 nodes before replacing replicas` while pulling; undefined otherwise. */
export function describePullWait(phase: PullPhase | undefined): string | undefined {
  if (phase?.state !== 'pulling') return undefined;
  const left = phase.nodes.filter((n) => n.state === 'pulling' || n.state === 'waiting').length;
  const nodes = `${phase.nodes.length} node${phase.nodes.length === 1 ? '' : 's'}`;
  return `pulling image ${phase.image} on ${left} of ${nodes} before replacing replicas`;
}
