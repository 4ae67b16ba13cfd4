/**
 * A deploy's images pinned to digests (src/registry/pin-image.ts), resolved against their
 * registries before anything is checked for conflicts or stored, all of a batch at once; the
 * events saying what was resolved (or why not) are recorded once the deploy is stored.
 */
import type { EventInput } from '../model/event.ts';
import { imageParts } from '../model/image-parts.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import { pinImage, wantsResolution } from '../registry/pin-image.ts';
import type { RouteDeps } from './deps.ts';

export interface PinnedDeploy {
  readonly specs: ServiceSpec[];
  /** To record after the deploy is stored (none when it is refused). */
  readonly events: Omit<EventInput, 'node'>[];
}

export async function pinImages(
  deps: Pick<RouteDeps, 'registries' | 'digestResolver' | 'store'>,
  specs: readonly ServiceSpec[],
): Promise<PinnedDeploy> {
  const { registries, digestResolver, store } = deps;
  const hasCredential = (registry: string) => registries.credential(registry) !== undefined;
  const pinned = await Promise.all(
    specs.map(async (spec) => {
      const resolution = wantsResolution(spec.image, hasCredential)
        ? await digestResolver.resolve(spec.image, registries.credential(imageParts(spec.image).registry))
        : undefined;
      const result = pinImage({
        service: spec.name,
        image: spec.image,
        storedImage: store.getService(spec.name)?.spec.image,
        resolution,
      });
      return { spec: { ...spec, image: result.image }, event: result.event };
    }),
  );
  return {
    specs: pinned.map((p) => p.spec),
    events: pinned.flatMap((p) => (p.event ? [p.event] : [])),
  };
}
