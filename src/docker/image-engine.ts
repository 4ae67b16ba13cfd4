/**
 * The port through which an agent sees and removes its engine's images (image locality reports,
 * image garbage collection, `skiff image prune`). Apart from `ContainerEngine` so the fakes that
 * only run containers need not grow; `DockerImages` (docker-images.ts) is the Docker side, the
 * simulator's fake engine the other.
 */

/** One image as the engine lists it. */
export interface EngineImage {
  /** `sha256:<hex>`. */
  readonly id: string;
  /** `repository:tag` names (none for an untagged image). */
  readonly repoTags: readonly string[];
  /** `repository@sha256:<hex>` names. */
  readonly repoDigests: readonly string[];
  readonly sizeBytes: number;
  /** When the image was built (epoch ms), as the engine says. */
  readonly createdAt: number;
}

/** A container (of any cluster, Skiff's or not, running or stopped) and the image it was created from. */
export interface ImageUser {
  readonly containerName: string;
  readonly imageId: string;
}

/** The filesystem that holds the engine's data root (images, writable layers, volumes). */
export interface DataRootUsage {
  readonly path: string;
  readonly usedBytes: number;
  readonly totalBytes: number;
}

/** What a removal did: `conflict` when the engine refused (a container uses it, another name holds it). */
export type ImageRemoval = 'removed' | 'gone' | 'conflict';

export interface ImageEngine {
  listImages(): Promise<EngineImage[]>;
  /** Every container on the engine with its image id: what must not be removed. */
  imageUsers(): Promise<ImageUser[]>;
  /** The image id a reference names now; undefined when the engine has no such image. */
  imageId(reference: string): Promise<string | undefined>;
  /** Untags `reference` (a name) or removes an image by id; never forced, so a used image stays. */
  removeImage(reference: string): Promise<ImageRemoval>;
  dataRootUsage(): Promise<DataRootUsage>;
}
