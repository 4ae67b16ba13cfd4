/**
 * The `images` message an agent sends (protocol/images-message.ts), pure: the engine's images as
 * reported (with who uses them and whether Skiff pulled them), capped at `MAX_REPORTED_IMAGES`,
 * and the change against what the server was last sent, so a node whose images did not change
 * sends nothing.
 */
import type { EngineImage, ImageUser } from '../docker/image-engine.ts';
import type { ReportedImage } from '../protocol/images-message.ts';
import { MAX_IMAGE_USERS, MAX_REPORTED_IMAGES } from '../protocol/images-message.ts';
import type { PulledImage } from './pulled-images.ts';

export interface ReportInputs {
  readonly images: readonly EngineImage[];
  readonly users: readonly ImageUser[];
  readonly pulled: ReadonlyMap<string, PulledImage>;
}

/** The images as the server is told them: Skiff's and used ones first, then the largest. */
export function reportedImages(inputs: ReportInputs): { images: ReportedImage[]; truncated: boolean } {
  const usersOf = new Map<string, string[]>();
  for (const user of inputs.users) {
    const list = usersOf.get(user.imageId) ?? [];
    list.push(user.containerName);
    usersOf.set(user.imageId, list);
  }
  const all = inputs.images.map((image): ReportedImage => {
    const users = (usersOf.get(image.id) ?? []).sort();
    const entry = inputs.pulled.get(image.id);
    return {
      id: image.id,
      repo_tags: [...image.repoTags].sort().slice(0, 32),
      repo_digests: [...image.repoDigests].sort().slice(0, 32),
      size_bytes: Math.min(image.sizeBytes, 2 ** 50),
      pulled_by_skiff: entry !== undefined,
      in_use_by: users.slice(0, MAX_IMAGE_USERS),
      in_use_count: users.length,
      last_used_at: entry?.last_used_at ?? null,
    };
  });
  const rank = (image: ReportedImage) => (image.pulled_by_skiff || image.in_use_count > 0 ? 0 : 1);
  all.sort((a, b) => rank(a) - rank(b) || b.size_bytes - a.size_bytes || (a.id < b.id ? -1 : 1));
  return { images: all.slice(0, MAX_REPORTED_IMAGES), truncated: all.length > MAX_REPORTED_IMAGES };
}

/** What the server was last sent, by image id (as text, to compare). */
export type SentImages = ReadonlyMap<string, string>;

export interface ImagesDelta {
  readonly changed: ReportedImage[];
  readonly removed: string[];
  readonly sent: Map<string, string>;
}

/** The images that are new or changed since `sent`, and the ids that are gone. */
export function imagesDelta(sent: SentImages, current: readonly ReportedImage[]): ImagesDelta {
  const next = new Map<string, string>();
  const changed: ReportedImage[] = [];
  for (const image of current) {
    const text = JSON.stringify(image);
    next.set(image.id, text);
    if (sent.get(image.id) !== text) changed.push(image);
  }
  const removed = [...sent.keys()].filter((id) => !next.has(id));
  return { changed, removed, sent: next };
}
