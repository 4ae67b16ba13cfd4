/**
 * A larger image that only a registry has, for benches that measure pulls: built on this engine
 * from a local demo image (Debian's busybox, scripts/build-images.sh) plus one layer of random
 * bytes (random, so no other image shares it), pushed into a registry, then removed from the
 * engine again: a rollout to it must fetch that layer. `forgetPulled` removes what a case pulled,
 * so the next case pulls it again.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { run } from './plain-registry.ts';

/** Pushes a local image into a registry as `repository:tag`; resolves with the registry reference. */
export type PushImage = (localImage: string, repositoryTag: string) => Promise<string>;

export interface RegistryImage {
  /** `HOST:PORT/REPOSITORY:TAG` in the registry. */
  readonly reference: string;
  /** The random layer's size. */
  readonly layerBytes: number;
  /** The image's size as the engine counted it when it was built. */
  readonly imageBytes: number;
}

/** Builds `base` + a `layerMb` MB random layer, pushes it as `repository:tag`, and removes it locally. */
export async function pushRandomImage(
  docker: Docker,
  push: PushImage,
  base: string,
  repository: string,
  tag: string,
  layerMb: number,
): Promise<RegistryImage> {
  const local = `${repository}-local:${tag}`;
  const context = `/dev/shm/skiff-bench-image-${process.pid}-${tag}`;
  const layerBytes = layerMb * 1024 * 1024;
  await mkdir(context, { recursive: true });
  try {
    await writeFile(`${context}/random.bin`, randomBytes(layerBytes));
    await writeFile(`${context}/Dockerfile`, `FROM ${base}\nCOPY random.bin /bench/random.bin\n`);
    // The classic builder: FROM a local image, nothing fetched.
    await run('docker', ['build', '--quiet', '--tag', local, context], { DOCKER_BUILDKIT: '0' });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  const imageBytes = (await docker.getImage(local).inspect()).Size;
  const reference = await push(local, `${repository}:${tag}`);
  // Its last local name: the layer goes with it, only the registry keeps it.
  await docker.getImage(local).remove();
  return { reference, layerBytes, imageBytes };
}

/** Removes every local image pulled from `registry`'s `repository` (by id, whatever it is named). */
export async function forgetPulled(
  docker: Docker,
  registryHost: string,
  repository: string,
): Promise<number> {
  const prefix = `${registryHost}/${repository}`;
  const images = await docker.listImages();
  const ours = images.filter((image) =>
    [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some(
      (name) => name.startsWith(`${prefix}:`) || name.startsWith(`${prefix}@`),
    ),
  );
  for (const image of ours) await docker.getImage(image.Id).remove({ force: true });
  return ours.length;
}
