/**
 * Pinning at deploy, as Swarm does: a tag is resolved to its digest once, on the server, and the
 * stored spec's image becomes `name:tag@sha256:…`, so every node runs the same build of `:latest`
 * and a replica started tomorrow is the one deployed today. A new deploy resolves anew (a new
 * digest is a new revision, rolled like any change; the same digest changes nothing).
 *
 * Only registries the cluster holds a credential for are asked (`skiff registry login`): a deploy
 * never sends traffic to a registry the operator did not name. A registry that cannot answer
 * does not stop the deploy: the tag runs unpinned, or a redeploy of the same tag keeps the digest
 * it had, and an event says so. Pure: the resolution is an input.
 */
import type { EventInput } from '../model/event.ts';
import { imageParts, pinnedReference, withoutDigest } from '../model/image-parts.ts';
import type { Resolution } from './digest-resolver.ts';

export interface PinInput {
  /** The service. */
  readonly service: string;
  /** The image the deploy asks for. */
  readonly image: string;
  /** The image the stored service runs now (pinned or not), if it exists. */
  readonly storedImage: string | undefined;
  /** Undefined when the registry was not asked (a digest already, or no credential). */
  readonly resolution: Resolution | undefined;
}

export interface PinResult {
  readonly image: string;
  readonly event: Omit<EventInput, 'node'> | null;
}

/** Whether a deploy of `image` asks its registry: a tag (not a digest) on a registry with a credential. */
export function wantsResolution(image: string, hasCredential: (registry: string) => boolean): boolean {
  const parts = imageParts(image);
  return parts.digest === null && hasCredential(parts.registry);
}

export function pinImage(input: PinInput): PinResult {
  const { service, image, storedImage, resolution } = input;
  if (!resolution) return { image, event: null };
  const event = (message: string) => ({ type: 'image', service, container: null, message }) as const;
  if (resolution.kind === 'resolved') {
    const pinned = pinnedReference(image, resolution.digest);
    return {
      image: pinned,
      event:
        pinned === storedImage
          ? null
          : event(`Image ${image} resolved to ${resolution.digest}: every replica runs that digest`),
    };
  }
  const why = resolution.reachable
    ? `registry ${imageParts(image).registry} answered: ${resolution.reason}`
    : `registry ${imageParts(image).registry} unreachable: ${resolution.reason}`;
  if (storedImage !== undefined && storedImage !== image && withoutDigest(storedImage) === image)
    return {
      image: storedImage,
      event: event(
        `Image ${image} not resolved (${why}): keeping ${imageParts(storedImage).digest} from the running revision`,
      ),
    };
  return {
    image,
    event: event(
      `Image ${image} not resolved to a digest (${why}): deploying the tag unpinned, so nodes may run different builds of it`,
    ),
  };
}
