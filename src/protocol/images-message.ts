/**
 * The `images` messages: what images an agent's engine holds (for the scheduler's image locality
 * and `skiff image ls`), and the prune request and its answer (`skiff image prune`).
 *
 * An agent sends `images` only to a server whose welcome lists the `images` feature: a full list
 * right after the welcome, then only changes (images added or changed, ids removed) when its
 * engine's list changes, looked at every `--image-report-interval` and after each pull or removal.
 * So a thousand nodes with steady images send nothing at all. A list is capped at
 * `MAX_REPORTED_IMAGES` (an engine with more reports the Skiff-pulled and in-use ones first, then
 * the largest, and says it cut the list).
 *
 * The server sends `images.prune` only to an agent whose hello lists `images`; the agent answers
 * with `images.pruned` (same request id): what it removed, or why it could not.
 */
import { z } from 'zod';
import { boundedTextSchema, epochMsSchema, idTextSchema, MAX_STATUS_MESSAGE_CHARS } from '../model/bounds.ts';
import { MAX_IMAGE_REFERENCE_CHARS } from '../model/image-reference.ts';

/** Far above what a node's engine holds in practice; the bound on one message. */
export const MAX_REPORTED_IMAGES = 1000;
/** Names of the containers using one image that are sent; `in_use_count` counts them all. */
export const MAX_IMAGE_USERS = 16;

const referenceSchema = z.string().min(1).max(MAX_IMAGE_REFERENCE_CHARS);

export const reportedImageSchema = z.object({
  /** The engine's image id (`sha256:<hex>`). */
  id: idTextSchema,
  /** `repository:tag` names; empty for an untagged image. */
  repo_tags: z.array(referenceSchema).max(32),
  /** `repository@sha256:<hex>` names (what it was pulled as, by digest). */
  repo_digests: z.array(referenceSchema).max(32),
  size_bytes: z
    .int()
    .min(0)
    .max(2 ** 50),
  /** Skiff's agent pulled it (its data dir's record): only such images are ever garbage-collected. */
  pulled_by_skiff: z.boolean(),
  /** Containers using it (any cluster's, and not Skiff's), first `MAX_IMAGE_USERS` names. */
  in_use_by: z.array(z.string().max(256)).max(MAX_IMAGE_USERS),
  in_use_count: z.int().min(0).max(1_000_000),
  /** When the agent last saw it in use (epoch ms); null when never (since the agent knew it). */
  last_used_at: epochMsSchema.nullable(),
});
export type ReportedImage = z.infer<typeof reportedImageSchema>;

export const imagesMessageSchema = z.object({
  type: z.literal('images'),
  /** A full list replaces what the server knew of the node; otherwise `images` are upserts. */
  full: z.boolean(),
  images: z.array(reportedImageSchema).max(MAX_REPORTED_IMAGES),
  /** Ids gone from the engine since the last message. */
  removed: z.array(idTextSchema).max(MAX_REPORTED_IMAGES),
  /** The engine holds more than a message carries: the rest are not reported. */
  truncated: z.boolean().optional(),
});
export type ImagesMessage = z.infer<typeof imagesMessageSchema>;

/** One image the agent removed (all of Skiff's names for it untagged). */
export const removedImageSchema = z.object({
  id: idTextSchema,
  references: z.array(referenceSchema).max(32),
  size_bytes: z
    .int()
    .min(0)
    .max(2 ** 50),
});
export type RemovedImage = z.infer<typeof removedImageSchema>;

export const imagesPrunedMessageSchema = z.object({
  type: z.literal('images.pruned'),
  request_id: idTextSchema,
  removed: z.array(removedImageSchema).max(MAX_REPORTED_IMAGES),
  /** Why the prune did not run (or stopped): the engine's error. */
  error: boundedTextSchema(MAX_STATUS_MESSAGE_CHARS).nullable(),
});

export const imagesPruneMessageSchema = z.object({
  type: z.literal('images.prune'),
  request_id: idTextSchema,
});
