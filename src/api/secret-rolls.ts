/**
 * What updating a secret or config does to the services that use it, whichever route updates it
 * (`POST /api/secrets|configs`, a stack that defines it): each gets a new revision stamped with
 * the new version, which rolls it like any spec change. Before anything is written, each must
 * still pass the admission policy, or the update is refused whole (403): a roll of a spec the
 * policy now refuses would only make replicas every agent refuses.
 */
import type { SecretKind } from '../model/secret-ref.ts';
import { usesRef, withVersions } from '../secrets/secret-refs.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { Store, StoredService } from '../store/store.ts';
import type { EventSink } from './event-attribution.ts';
import { assertAdmitted } from './policy-routes.ts';

/** The services using `kind:name`, but those named in `except` (a stack's own, stamped apart). */
export function usersOf(
  store: Store,
  kind: SecretKind,
  name: string,
  except: ReadonlySet<string> = new Set(),
): StoredService[] {
  return store.listServices().filter((s) => !except.has(s.spec.name) && usesRef(s.spec, kind, name));
}

/** Whether storing `value` would change `kind:name` (a new one changes nothing that runs). */
export function changesValue(secrets: SecretStore, kind: SecretKind, name: string, value: Buffer): boolean {
  return secrets.get(kind, name) !== undefined && !secrets.value(kind, name)?.equals(value);
}

/** Refuses (403, every violation named) when a service the update would roll is no longer admitted. */
export function assertUsersAdmitted(
  store: Store,
  kind: SecretKind,
  name: string,
  except?: ReadonlySet<string>,
): void {
  for (const service of usersOf(store, kind, name, except)) assertAdmitted(store, service.spec);
}

/** After the value changed: a new revision for each user, each an event. Returns their names. */
export function rollUsers(
  deps: { store: Store; secrets: SecretStore; events: EventSink; now: () => number },
  kind: SecretKind,
  name: string,
  except?: ReadonlySet<string>,
): string[] {
  const { store, secrets, events, now } = deps;
  const users = usersOf(store, kind, name, except);
  for (const service of users) {
    const put = store.putService(withVersions(secrets, service.spec), now());
    if (put.changed)
      events.append(
        {
          type: 'service',
          service: service.spec.name,
          container: null,
          node: null,
          message: `Service ${service.spec.name} updated to revision ${put.service.revision} (${kind} ${name} changed)`,
        },
        now(),
      );
  }
  return users.map((s) => s.spec.name);
}
