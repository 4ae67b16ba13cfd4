/**
 * Image garbage collection, the decision (pure): which images to remove, given the engine's
 * images, the containers using them, the agent's record of what it pulled, the images its desired
 * tasks need, and how full the data root's filesystem is. The kubelet's rules:
 *
 *  - Only at or past the high-water mark (default 85% used), and then down to the low-water mark
 *    (80%): the bytes to free are `used − low × total`.
 *  - Candidates are images Skiff pulled (in the record) and nobody else named: every tag the image
 *    carries is one Skiff pulled it as (a tag someone added, `docker tag`, a local build over the
 *    same id, makes it theirs). An untagged image in the record is Skiff's (its tag moved on).
 *  - Never one a container uses (any container on the engine, stopped ones and other clusters'
 *    included), nor one a desired task names, nor one used (or pulled) less than `minAgeMs` ago.
 *  - Oldest unused first (last seen in use, else pulled), until enough bytes are freed.
 *
 * A prune (`skiff image prune`) takes every candidate at once, whatever the disk says and however
 * recently used. Sizes are the engine's (shared layers counted in each image, as the kubelet does),
 * so a pass may free less than it expected; the next pass looks again.
 */
import type { EngineImage, ImageUser } from '../docker/image-engine.ts';
import { normalizeImageReference } from '../scheduler/image-locality.ts';
import type { PulledImage } from './pulled-images.ts';

export interface ImageGcThresholds {
  /** Collect at or past this share of the data root's filesystem used, percent (kubelet: 85). */
  readonly highPercent: number;
  /** Down to this share, percent (kubelet: 80). */
  readonly lowPercent: number;
  /** An image used (or pulled) more recently is kept (kubelet's minimum-image-ttl-duration: 2 min). */
  readonly minAgeMs: number;
}

export const DEFAULT_IMAGE_GC: ImageGcThresholds = { highPercent: 85, lowPercent: 80, minAgeMs: 120_000 };
/** How often the agent looks at its images (reports changes, collects past the high mark). */
export const DEFAULT_IMAGE_GC_INTERVAL_MS = 60_000;

export interface GcInputs {
  readonly images: readonly EngineImage[];
  readonly users: readonly ImageUser[];
  /** The agent's record (pulled-images.ts), by image id. */
  readonly pulled: ReadonlyMap<string, PulledImage>;
  /** References the desired tasks run (and any other image the agent must keep). */
  readonly desired: readonly string[];
  readonly now: number;
}

export type GcMode =
  | {
      readonly kind: 'threshold';
      readonly disk: { readonly usedBytes: number; readonly totalBytes: number };
      readonly thresholds: ImageGcThresholds;
    }
  | { readonly kind: 'prune' };

/** One image to remove: the names to untag (all Skiff's), then the id if it is still there. */
export interface ImageToRemove {
  readonly id: string;
  readonly names: readonly string[];
  readonly sizeBytes: number;
  /** Last seen in use, else pulled (epoch ms): the order of removal. */
  readonly unusedSince: number;
}

export interface GcSelection {
  readonly remove: readonly ImageToRemove[];
  /** What the threshold asks to free (0 below the high-water mark, or for a prune: all candidates). */
  readonly bytesToFree: number;
  /** Why it collects ("disk 91% used ≥ 85%"), or undefined when it does not. */
  readonly reason: string | undefined;
}

/** Why an image is not a candidate; undefined when it is one. Exported for `skiff image ls`. */
export function keepReason(
  image: EngineImage,
  inputs: Pick<GcInputs, 'pulled' | 'desired'>,
  inUse: ReadonlySet<string>,
): string | undefined {
  const entry = inputs.pulled.get(image.id);
  if (!entry) return 'not pulled by Skiff';
  const skiffNames = new Set(entry.references.map(normalizeImageReference));
  const foreign = image.repoTags.find((tag) => !skiffNames.has(normalizeImageReference(tag)));
  if (foreign !== undefined) return `also named ${foreign}, which Skiff did not pull`;
  if (inUse.has(image.id)) return 'in use by a container';
  const names = new Set([...image.repoTags, ...image.repoDigests].map(normalizeImageReference));
  names.add(image.id);
  const wanted = inputs.desired.find((ref) => names.has(normalizeImageReference(ref)) || ref === image.id);
  if (wanted !== undefined) return `a desired task runs ${wanted}`;
  return undefined;
}

export function selectImagesToRemove(inputs: GcInputs, mode: GcMode): GcSelection {
  let bytesToFree = Number.POSITIVE_INFINITY;
  let reason = 'prune';
  if (mode.kind === 'threshold') {
    const { disk, thresholds } = mode;
    if (!(disk.totalBytes > 0)) return { remove: [], bytesToFree: 0, reason: undefined };
    const usedPercent = (disk.usedBytes / disk.totalBytes) * 100;
    if (usedPercent < thresholds.highPercent) return { remove: [], bytesToFree: 0, reason: undefined };
    bytesToFree = Math.max(0, disk.usedBytes - (thresholds.lowPercent / 100) * disk.totalBytes);
    reason = `disk ${usedPercent.toFixed(0)}% used ≥ ${thresholds.highPercent}%`;
    // Past the high mark but already at or below the low one (low ≥ high, misconfigured): the
    // smallest collection that brings it under the high mark.
    if (bytesToFree === 0)
      bytesToFree = Math.max(1, disk.usedBytes - (thresholds.highPercent / 100) * disk.totalBytes);
  }
  const minAgeMs = mode.kind === 'threshold' ? mode.thresholds.minAgeMs : 0;
  const inUse = new Set(inputs.users.map((user) => user.imageId));
  const candidates: ImageToRemove[] = [];
  for (const image of inputs.images) {
    if (keepReason(image, inputs, inUse) !== undefined) continue;
    const entry = inputs.pulled.get(image.id);
    if (!entry) continue;
    const unusedSince = entry.last_used_at ?? entry.pulled_at;
    if (inputs.now - unusedSince < minAgeMs) continue;
    candidates.push({
      id: image.id,
      names: image.repoTags.length > 0 ? [...image.repoTags] : [image.id],
      sizeBytes: image.sizeBytes,
      unusedSince,
    });
  }
  candidates.sort((a, b) => a.unusedSince - b.unusedSince || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const remove: ImageToRemove[] = [];
  let freed = 0;
  for (const candidate of candidates) {
    if (freed >= bytesToFree) break;
    remove.push(candidate);
    freed += candidate.sizeBytes;
  }
  return { remove, bytesToFree: Number.isFinite(bytesToFree) ? bytesToFree : freed, reason };
}
