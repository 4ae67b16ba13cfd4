/**
 * Image locality (Kubernetes' ImageLocality): among equally good nodes, prefer one whose engine
 * already has the replica's image, the more so the larger the image (a large pull is a slow
 * start), and less so when few nodes have it (so the first node to pull an image does not draw
 * every later replica: Kubernetes' "node heating"). Pure.
 *
 * As Kubernetes computes it: the image's size times the share of nodes that have it, clamped to
 * [23 MB, 1000 MB] and scaled to 0…1. Skiff then weighs it at most `IMAGE_LOCALITY_WEIGHT`
 * points, a tie-break-like weight: packing scores span about ±18 points, anti-affinity penalties
 * are 10–40, so locality decides only between nodes that are otherwise (nearly) equal, never
 * over resources, constraints or spread.
 */

/** Below this, a pull is quick enough not to matter (Kubernetes' minThreshold: 23 MB). */
export const LOCALITY_MIN_BYTES = 23 * 1024 * 1024;
/** Above this, any image counts the same (Kubernetes' maxThreshold for one container: 1000 MB). */
export const LOCALITY_MAX_BYTES = 1000 * 1024 * 1024;
/**
 * The most locality adds to a node's score. A 1% difference in a node's free CPU or memory moves
 * the binpack score by 0.023–0.23 points, so 0.01 outweighs only packing differences below about
 * 0.05–0.5% of a node; it does outweigh the fewest-replicas tie-break (1e-6 per replica).
 */
export const IMAGE_LOCALITY_WEIGHT = 0.01;

/** What the scheduler knows of one node's images: reference (normalized) → size in bytes. */
export type ImagePresence = ReadonlyMap<string, number>;

/**
 * A reference as the engine lists it, in one spelling: Docker Hub's implicit registry and
 * `library/` dropped, `:latest` added when there is neither tag nor digest. So `nginx`,
 * `docker.io/library/nginx:latest` and `nginx:latest` are one image.
 */
export function normalizeImageReference(reference: string): string {
  let ref = reference.trim();
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (ref.startsWith(prefix)) {
      ref = ref.slice(prefix.length);
      break;
    }
  }
  if (ref.startsWith('library/')) ref = ref.slice('library/'.length);
  if (ref.includes('@')) return ref;
  const lastSlash = ref.lastIndexOf('/');
  return ref.indexOf(':', lastSlash + 1) === -1 ? `${ref}:latest` : ref;
}

/** The 0…1 locality of an image of `sizeBytes` present on `nodesWithImage` of `totalNodes` nodes. */
export function localityFraction(sizeBytes: number, nodesWithImage: number, totalNodes: number): number {
  if (!(sizeBytes > 0) || !(totalNodes > 0) || !(nodesWithImage > 0)) return 0;
  const spread = Math.min(1, nodesWithImage / totalNodes);
  const scaled = Math.min(LOCALITY_MAX_BYTES, Math.max(LOCALITY_MIN_BYTES, sizeBytes * spread));
  return (scaled - LOCALITY_MIN_BYTES) / (LOCALITY_MAX_BYTES - LOCALITY_MIN_BYTES);
}

/** The points locality adds to a node's score (0 … IMAGE_LOCALITY_WEIGHT). */
export function imageLocalityScore(sizeBytes: number, nodesWithImage: number, totalNodes: number): number {
  return localityFraction(sizeBytes, nodesWithImage, totalNodes) * IMAGE_LOCALITY_WEIGHT;
}
