/**
 * Deploying a stack, whichever way it came (`POST /api/stacks/{name}` with the specs a Compose file
 * translated to, or `…/compose` with the file itself): every spec checked first, then the secrets
 * and configs it defines written, then one transaction of services, so an invalid stack deploys
 * nothing; `prune` removes the stack's services the request no longer has. Errors are HttpErrors
 * naming `services.N` (or the service's name, for conflicts between services).
 */
import type { z } from 'zod';
import type { SecretKind } from '../model/secret-ref.ts';
import { STACK_LABEL, type StackDeployView, type stackRequestSchema } from '../model/stack.ts';
import { withVersions } from '../secrets/secret-refs.ts';
import { MAX_SECRET_BYTES } from '../secrets/secret-store.ts';
import type { StoredService } from '../store/store.ts';
import { assertNoConflicts, checkSpec, commitDeploys } from './deploy-service.ts';
import type { RouteDeps } from './deps.ts';
import { HttpError } from './errors.ts';
import { pinImages } from './pin-images.ts';
import { assertUsersAdmitted, changesValue, rollUsers } from './secret-rolls.ts';

export type StackRequest = z.output<typeof stackRequestSchema>;

/** One of the stack's specs refused by its checks, as they said it, with its index in the request. */
export class StackServiceError extends HttpError {
  override readonly name = 'StackServiceError';
  readonly serviceIndex: number;
  constructor(cause: HttpError, serviceIndex: number) {
    super(cause.status, cause.message, cause.details);
    this.serviceIndex = serviceIndex;
  }
}

function checkedSpec(
  deps: RouteDeps,
  body: unknown,
  index: number,
  pending: (kind: SecretKind, name: string) => boolean,
) {
  try {
    return checkSpec(deps, body, `services.${index}`, pending);
  } catch (error) {
    // Some checks (the admission policy) name the field but not the service: the index does.
    if (error instanceof HttpError) throw new StackServiceError(error, index);
    throw error;
  }
}

export function stackServices(deps: RouteDeps, stack: string): StoredService[] {
  return deps.store.listServices().filter((s) => s.spec.labels[STACK_LABEL] === stack);
}

/** Deploys the stack whole or not at all (throws before anything is written); the caller settles. */
export async function deployStack(
  deps: RouteDeps,
  stack: string,
  request: StackRequest,
): Promise<StackDeployView> {
  const { store, events, now } = deps;
  const servicesOf = (name: string) => stackServices(deps, name);
  const objects = [
    ...request.secrets.map((o) => ({ kind: 'secret' as const, ...o })),
    ...request.configs.map((o) => ({ kind: 'config' as const, ...o })),
  ];
  for (const object of objects) {
    const bytes = Buffer.from(object.data, 'base64').length;
    if (bytes > MAX_SECRET_BYTES)
      throw new HttpError(
        400,
        `${object.kind}s: ${object.name} holds ${bytes} bytes, at most ${MAX_SECRET_BYTES}`,
      );
  }
  const pending = (kind: SecretKind, name: string) => objects.some((o) => o.kind === kind && o.name === name);
  const checked = request.services.map((body, index) => {
    const spec = checkedSpec(deps, body, index, pending);
    if (!spec.name.startsWith(`${stack}-`))
      throw new HttpError(
        400,
        `services.${index}.name: a service of stack ${stack} is named ${stack}-SERVICE`,
      );
    const owner = store.getService(spec.name)?.spec.labels[STACK_LABEL];
    if (store.getService(spec.name) && owner !== stack)
      throw new HttpError(
        409,
        `services.${index}.name: service ${spec.name} exists and is not part of stack ${stack}${owner ? ` (it belongs to ${owner})` : ''}`,
      );
    return { ...spec, labels: { ...spec.labels, [STACK_LABEL]: stack } };
  });
  // Tags resolved to digests first (pin-images.ts): what follows is synchronous, so nothing
  // changes between check and store.
  const pinned = await pinImages(deps, checked);
  const specs = pinned.specs;
  const names = new Set(specs.map((s) => s.name));
  if (names.size !== specs.length) throw new HttpError(400, 'services: two services have the same name');
  const pruned = request.prune ? servicesOf(stack).filter((s) => !names.has(s.spec.name)) : [];
  assertNoConflicts(deps, specs, new Set(pruned.map((s) => s.spec.name)));
  // A value the stack changes rolls the services outside it that use it too (its own are
  // stamped below), and each must still pass the policy (secret-rolls.ts).
  const own = new Set(specs.map((s) => s.name));
  for (const object of objects)
    if (changesValue(deps.secrets, object.kind, object.name, Buffer.from(object.data, 'base64')))
      assertUsersAdmitted(store, object.kind, object.name, own);

  for (const object of objects) {
    const result = deps.secrets.put(object.kind, object.name, Buffer.from(object.data, 'base64'), now());
    if (result.changed && !result.created) rollUsers({ ...deps, events }, object.kind, object.name, own);
    if (result.created || result.changed)
      events.append(
        {
          type: object.kind,
          service: null,
          container: null,
          node: null,
          message: `${object.kind === 'secret' ? 'Secret' : 'Config'} ${object.name} ${result.created ? 'created' : `updated to version ${result.entry.version}`} by stack ${stack}`,
        },
        now(),
      );
  }
  const results = commitDeploys(
    deps,
    specs.map((spec) => withVersions(deps.secrets, spec)),
  );
  for (const event of pinned.events) events.append({ ...event, node: null }, now());
  for (const service of pruned) {
    if (!store.deleteService(service.spec.name)) continue;
    events.append(
      {
        type: 'service',
        service: service.spec.name,
        container: null,
        node: null,
        message: `Service ${service.spec.name} removed (no longer in stack ${stack})`,
      },
      now(),
    );
  }
  const view: StackDeployView = {
    name: stack,
    created: results.filter((r) => r.created).map((r) => r.service.spec.name),
    updated: results.filter((r) => r.changed && !r.created).map((r) => r.service.spec.name),
    unchanged: results.filter((r) => !r.changed).map((r) => r.service.spec.name),
    removed: pruned.map((s) => s.spec.name),
  };
  events.append(
    {
      type: 'stack',
      service: null,
      container: null,
      node: null,
      message: `Stack ${stack} deployed: ${view.created.length} created, ${view.updated.length} updated, ${view.unchanged.length} unchanged, ${view.removed.length} removed`,
    },
    now(),
  );
  return view;
}
