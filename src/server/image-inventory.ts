/**
 * The images each node's engine holds, as its agent reported them (`images` messages,
 * protocol/images-message.ts): memory only, like heartbeats and stats (a restarted server learns
 * them again from each agent's full list on welcome). Two readers: the scheduler's image locality
 * (`presence`: normalized reference → bytes, kept up to date per message, so a pass reads it
 * without copying), and `skiff image ls` (`list`).
 */
import type { ImagesMessage, ReportedImage } from '../protocol/images-message.ts';
import type { ImagePresence } from '../scheduler/image-locality.ts';
import { normalizeImageReference } from '../scheduler/image-locality.ts';

interface NodeImages {
  readonly byId: Map<string, ReportedImage>;
  /** Derived from `byId` after every message. */
  presence: Map<string, number>;
  truncated: boolean;
  updatedAt: number;
}

export interface NodeImageList {
  readonly nodeId: string;
  readonly images: readonly ReportedImage[];
  /** The agent said its engine holds more than it reported. */
  readonly truncated: boolean;
  /** When its agent last reported (epoch ms). */
  readonly updatedAt: number;
}

export class ImageInventory {
  readonly #nodes = new Map<string, NodeImages>();

  /** Applies one `images` message of a node; returns whether the node's presence map changed. */
  apply(nodeId: string, message: ImagesMessage, now: number): boolean {
    let node = this.#nodes.get(nodeId);
    if (!node || message.full) {
      node = { byId: new Map(), presence: new Map(), truncated: false, updatedAt: now };
      const previous = this.#nodes.get(nodeId)?.presence;
      this.#nodes.set(nodeId, node);
      for (const image of message.images) node.byId.set(image.id, image);
      node.truncated = message.truncated === true;
      node.presence = presenceOf(node.byId);
      return previous === undefined || !samePresence(previous, node.presence);
    }
    for (const id of message.removed) node.byId.delete(id);
    for (const image of message.images) node.byId.set(image.id, image);
    node.truncated = message.truncated ?? node.truncated;
    node.updatedAt = now;
    const presence = presenceOf(node.byId);
    const changed = !samePresence(node.presence, presence);
    // A new map only on change: the scheduler's snapshot holds the old one, unchanged.
    if (changed) node.presence = presence;
    return changed;
  }

  /** What the scheduler sees of a node; undefined when its agent never reported images. */
  presence(nodeId: string): ImagePresence | undefined {
    return this.#nodes.get(nodeId)?.presence;
  }

  /** Every node's images, nodes by id. */
  list(): NodeImageList[] {
    return [...this.#nodes.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([nodeId, node]) => ({
        nodeId,
        images: [...node.byId.values()],
        truncated: node.truncated,
        updatedAt: node.updatedAt,
      }));
  }

  /** A node removed from the cluster. */
  forget(nodeId: string): void {
    this.#nodes.delete(nodeId);
  }
}

/** Each of an image's names (tags and digests), normalized, to its size. */
export function presenceOf(images: ReadonlyMap<string, ReportedImage>): Map<string, number> {
  const presence = new Map<string, number>();
  for (const image of images.values()) {
    for (const ref of [...image.repo_tags, ...image.repo_digests])
      presence.set(normalizeImageReference(ref), image.size_bytes);
    // A spec may name an image by its id.
    presence.set(image.id, image.size_bytes);
  }
  return presence;
}

function samePresence(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, size] of a) if (b.get(key) !== size) return false;
  return true;
}
