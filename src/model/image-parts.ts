/**
 * An image reference taken apart as Docker does (distribution/reference `splitDockerDomain`): the
 * first path component is a registry when it has a `.` or a `:` or is `localhost`, otherwise the
 * registry is Docker Hub and a one-component name lives under `library/`. Which registry a pull
 * goes to decides which credential it carries; the tag is what a deploy resolves to a digest.
 */

/** Docker Hub's name in references; its credentials are keyed by DOCKER_HUB_AUTH_ADDRESS. */
export const DOCKER_HUB = 'docker.io';
/** The server address Docker keys Docker Hub's credential by (`docker login` with no host). */
export const DOCKER_HUB_AUTH_ADDRESS = 'https://index.docker.io/v1/';

export interface ImageParts {
  /** `registry.example.com:5000`, `127.0.0.1:5000`, `localhost`, or `docker.io`. */
  readonly registry: string;
  /** The path in the registry: `team/app`, `library/nginx`. */
  readonly repository: string;
  readonly tag: string | null;
  /** `sha256:…` when the reference is pinned. */
  readonly digest: string | null;
}

export function imageParts(reference: string): ImageParts {
  const at = reference.indexOf('@');
  const digest = at === -1 ? null : reference.slice(at + 1);
  const named = at === -1 ? reference : reference.slice(0, at);
  const lastSlash = named.lastIndexOf('/');
  const colon = named.indexOf(':', lastSlash + 1);
  const name = colon === -1 ? named : named.slice(0, colon);
  const tag = colon === -1 ? null : named.slice(colon + 1);
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const hasRegistry =
    slash !== -1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  if (hasRegistry) return { registry: first, repository: name.slice(slash + 1), tag, digest };
  return { registry: DOCKER_HUB, repository: slash === -1 ? `library/${name}` : name, tag, digest };
}

/** The registry a reference pulls from (`docker.io` for Docker Hub). */
export function registryOf(reference: string): string {
  return imageParts(reference).registry;
}

/** The reference without its digest: `app:v1@sha256:…` → `app:v1`. */
export function withoutDigest(reference: string): string {
  const at = reference.indexOf('@');
  return at === -1 ? reference : reference.slice(0, at);
}

/**
 * The reference pinned to a digest, keeping its tag for the reader (`app:v1@sha256:…`, as Swarm
 * shows a service's image); Docker pulls and runs by the digest alone.
 */
export function pinnedReference(reference: string, digest: string): string {
  return `${withoutDigest(reference)}@${digest}`;
}

/**
 * What the Engine API's pull (`fromImage`) is given: a reference with neither tag nor digest
 * would pull every tag of the repository, so it gets `:latest` as `docker pull` does.
 */
export function pullReference(reference: string): string {
  const parts = imageParts(reference);
  return parts.tag === null && parts.digest === null ? `${reference}:latest` : reference;
}
