/**
 * What a deploy is, whichever route asks for it (`POST /api/deploy` for one service, a stack for
 * several): each spec parsed, admitted by the policy, its secrets resolved to versions and checked
 * against the others for published ports and names; then all of them stored in one transaction
 * with their addresses, so a batch that cannot be deployed whole stores nothing.
 */
import type { z } from 'zod';
import { autoscaleProblems } from '../autoscale/autoscale-spec.ts';
import { MAX_SERVICES } from '../model/addressing.ts';
import type { SecretKind } from '../model/secret-ref.ts';
import { type ServiceSpec, serviceSpecSchema } from '../model/service-spec.ts';
import { missingRefs, withVersions } from '../secrets/secret-refs.ts';
import type { StoredService } from '../store/store.ts';
import { aliasConflict, describeAliasConflict } from './alias-conflicts.ts';
import type { RouteDeps } from './deps.ts';
import { HttpError, ValidationError } from './errors.ts';
import { assertAdmitted } from './policy-routes.ts';
import { describeConflict, publishedPortConflict } from './port-conflicts.ts';
import { volumeProblems } from './volume-problems.ts';

export interface DeployResult {
  readonly service: StoredService;
  readonly created: boolean;
  readonly changed: boolean;
}

/** A spec as the server will store it, or an HttpError saying why not (`what` names it in errors). */
export function admitSpec(deps: RouteDeps, body: unknown, what = 'service spec'): ServiceSpec {
  return withVersions(deps.secrets, checkSpec(deps, body, what));
}

/**
 * The checks of `admitSpec` without stamping secret versions: for a batch that creates some of
 * the secrets it uses (`pending`), which are stamped once they exist.
 */
export function checkSpec(
  deps: RouteDeps,
  body: unknown,
  what: string,
  pending?: (kind: SecretKind, name: string) => boolean,
): ServiceSpec {
  const parsed = parseBody(body, serviceSpecSchema, what);
  const autoscale = autoscaleProblems(parsed);
  if (autoscale.length > 0) throw new HttpError(400, `invalid ${what}: ${autoscale.join('; ')}`, autoscale);
  const volumes = volumeProblems(parsed);
  if (volumes.length > 0) throw new HttpError(400, `invalid ${what}: ${volumes.join('; ')}`, volumes);
  assertAdmitted(deps.store, parsed);
  const missing = missingRefs(deps.secrets, parsed, pending);
  if (missing.length > 0) throw new HttpError(400, `invalid ${what}: ${missing.join('; ')}`, missing);
  return parsed;
}

/**
 * Refuses (409) a batch whose ports or names collide with each other or with the services that
 * stay (`replacing`: services the batch removes, which no longer count).
 */
export function assertNoConflicts(
  deps: RouteDeps,
  specs: readonly ServiceSpec[],
  replacing: ReadonlySet<string> = new Set(),
): void {
  const batch = new Set(specs.map((s) => s.name));
  const staying = deps.store
    .listServices()
    .map((s) => s.spec)
    .filter((s) => !batch.has(s.name) && !replacing.has(s.name));
  for (const [index, spec] of specs.entries()) {
    const others = [...staying, ...specs.filter((_, i) => i !== index)];
    const prefix = specs.length > 1 ? `${spec.name}: ` : '';
    const port = publishedPortConflict(spec, others, deps.serverPort?.());
    if (port) throw new HttpError(409, `${prefix}ports: ${describeConflict(port)}`);
    const alias = aliasConflict(spec, others);
    if (alias) throw new HttpError(409, `${prefix}${describeAliasConflict(alias)}`);
  }
}

/** Stores every spec with its addresses in one transaction, then records what changed. */
export function commitDeploys(deps: RouteDeps, specs: readonly ServiceSpec[]): DeployResult[] {
  const { store, addressPool, controller, events, now } = deps;
  // Addresses are allocated with the specs: a cluster out of addresses refuses the deploy (409)
  // and stores nothing, rather than storing a service no pass can place.
  const results = store.transaction(() =>
    specs.map((spec) => {
      for (const network of spec.networks)
        store.allocate('network', network, 0, addressPool.networkCount - 1);
      store.allocate('service', spec.name, 1, MAX_SERVICES);
      return store.putService(spec, now());
    }),
  );
  for (const [index, result] of results.entries()) {
    const spec = specs[index] as ServiceSpec;
    if (result.created) controller.forgetService(spec.name);
    if (!result.changed) continue;
    const message = result.created
      ? `Service ${spec.name} created: ${spec.replicas} replica(s) of ${spec.image}`
      : `Service ${spec.name} updated to revision ${result.service.revision} (${spec.image}, ${spec.replicas} replica(s))`;
    events.append({ type: 'service', service: spec.name, container: null, node: null, message }, now());
  }
  return results;
}

export function parseBody<S extends z.ZodType>(body: unknown, schema: S, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ValidationError(what, parsed.error);
  return parsed.data;
}
