/**
 * The ImageEngine port on the Docker Engine API: `GET /images/json`, `GET /containers/json?all=1`
 * for which images containers use, `DELETE /images/{name}` (never `force`: the engine keeps an
 * image a container uses, stopped ones included), and statfs of the engine's data root.
 */
import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import Docker from 'dockerode';
import { z } from 'zod';
import { EngineError } from './container-engine.ts';
import { dockerOptionsFor } from './engine-address.ts';
import type { DataRootUsage, EngineImage, ImageEngine, ImageRemoval, ImageUser } from './image-engine.ts';

const imageListSchema = z.array(
  z.object({
    Id: z.string(),
    RepoTags: z.array(z.string()).nullable().optional(),
    RepoDigests: z.array(z.string()).nullable().optional(),
    Size: z.number(),
    Created: z.number(),
  }),
);

const containerListSchema = z.array(z.object({ Names: z.array(z.string()), ImageID: z.string() }));

/** What the engine lists for an image without a tag or digest. */
const NONE = new Set(['<none>:<none>', '<none>@<none>']);

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (typeof json?.message === 'string') return json.message;
  return error instanceof Error ? error.message : String(error);
}

export class DockerImages implements ImageEngine {
  readonly #docker: Docker;
  #dataRoot: Promise<string> | undefined;

  /** `host` as `DockerEngine` takes it (engine-address.ts). */
  constructor(host?: string) {
    const options = dockerOptionsFor(host, { env: process.env, readFile: (path) => readFileSync(path) });
    this.#docker = options === undefined ? new Docker() : new Docker(options);
  }

  async listImages(): Promise<EngineImage[]> {
    const raw = await this.#call('list images', () => this.#docker.listImages({ all: false }));
    return imageListSchema.parse(raw).map((image) => ({
      id: image.Id,
      repoTags: (image.RepoTags ?? []).filter((tag) => !NONE.has(tag)),
      repoDigests: (image.RepoDigests ?? []).filter((digest) => !NONE.has(digest)),
      sizeBytes: Math.max(0, Math.round(image.Size)),
      createdAt: image.Created * 1000,
    }));
  }

  async imageUsers(): Promise<ImageUser[]> {
    const raw = await this.#call('list containers', () => this.#docker.listContainers({ all: true }));
    return containerListSchema.parse(raw).map((container) => ({
      containerName: (container.Names[0] ?? '').replace(/^\//, ''),
      imageId: container.ImageID,
    }));
  }

  async imageId(reference: string): Promise<string | undefined> {
    try {
      const inspected = z.object({ Id: z.string() }).parse(await this.#docker.getImage(reference).inspect());
      return inspected.Id;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new EngineError(`inspect image ${reference}: ${messageOf(error)}`, statusOf(error), {
        cause: error,
      });
    }
  }

  async removeImage(reference: string): Promise<ImageRemoval> {
    try {
      await this.#docker.getImage(reference).remove({ force: false, noprune: false });
      return 'removed';
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return 'gone';
      if (status === 409) return 'conflict';
      throw new EngineError(`remove image ${reference}: ${messageOf(error)}`, status, { cause: error });
    }
  }

  async dataRootUsage(): Promise<DataRootUsage> {
    this.#dataRoot ??= this.#docker.info().then(
      (info: { DockerRootDir?: unknown }) =>
        typeof info.DockerRootDir === 'string' ? info.DockerRootDir : '/',
      (error: unknown) => {
        this.#dataRoot = undefined;
        throw error;
      },
    );
    let path = await this.#dataRoot;
    // A remote engine's data root is not on this host: `/` stands in (said in the agent's README).
    const disk = await statfs(path).catch(() => {
      path = '/';
      return statfs('/');
    });
    const totalBytes = disk.blocks * disk.bsize;
    // Used as df counts it: what is not free (reserved blocks included), as stats-node-usage.ts.
    return { path, totalBytes, usedBytes: Math.max(0, totalBytes - disk.bfree * disk.bsize) };
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new EngineError(`${what}: ${messageOf(error)}`, statusOf(error), { cause: error });
    }
  }
}
