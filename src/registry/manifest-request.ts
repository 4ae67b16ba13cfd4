/**
 * The pure half of resolving a tag to a digest over the registry v2 API: which request to make
 * (`HEAD /v2/REPO/manifests/TAG`, accepting a manifest list, an OCI index and both single-image
 * manifests, so the digest is the one `docker push` printed and Swarm pins), how to read a 401's
 * challenge (Basic, or Bearer with a token realm as Docker Hub and most hosted registries use),
 * and where the digest is in the answer.
 */
import { createHash } from 'node:crypto';
import type { ImageParts } from '../model/image-parts.ts';
import { DOCKER_HUB } from '../model/image-parts.ts';

export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** The manifest's URL for a reference's tag (`latest` when it has none). */
export function manifestUrl(parts: ImageParts): string {
  const host = parts.registry === DOCKER_HUB ? 'registry-1.docker.io' : parts.registry;
  return `https://${host}/v2/${parts.repository}/manifests/${parts.tag ?? 'latest'}`;
}

export type Challenge =
  | { readonly scheme: 'basic' }
  | { readonly scheme: 'bearer'; readonly realm: string; readonly service?: string; readonly scope?: string };

/** A `WWW-Authenticate` header's challenge, or undefined for a scheme the resolver does not speak. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  const params = new Map<string, string>();
  for (const m of (match[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g))
    params.set((m[1] ?? '').toLowerCase(), m[2] ?? m[3] ?? '');
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const realm = params.get('realm');
  if (!realm) return undefined;
  const service = params.get('service');
  const scope = params.get('scope');
  return { scheme: 'bearer', realm, ...(service ? { service } : {}), ...(scope ? { scope } : {}) };
}

/** Where a Bearer challenge's token is asked for: the realm, with service and a pull scope. */
export function tokenUrl(challenge: Extract<Challenge, { scheme: 'bearer' }>, parts: ImageParts): string {
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set('service', challenge.service);
  url.searchParams.set('scope', challenge.scope ?? `repository:${parts.repository}:pull`);
  return url.toString();
}

/** The token in a token endpoint's JSON (`token`, or OAuth's `access_token`). */
export function tokenFrom(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const token = record.token ?? record.access_token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/**
 * The manifest's digest: the `Docker-Content-Digest` header, or for a GET whose answer lacks it,
 * the SHA-256 of the manifest bytes (what the digest is by definition).
 */
export function digestFrom(header: string | undefined, body: Buffer | undefined): string | undefined {
  const given = header?.trim();
  if (given && DIGEST_PATTERN.test(given)) return given;
  if (body && body.length > 0) return `sha256:${createHash('sha256').update(body).digest('hex')}`;
  return undefined;
}
