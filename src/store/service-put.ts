// What both stores decide when a spec is put, before each writes it its own way: whether the
// spec is new at all, and the rollout that a new revision starts.
import type { Rollout } from '../model/rollout.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { StoredService } from './store.ts';

/** The stored service when the canonical spec equals its spec: no change, no revision, no rollout. */
export function unchangedService(
  existing: StoredService | undefined,
  spec: ServiceSpec,
): StoredService | undefined {
  return existing && JSON.stringify(existing.spec) === JSON.stringify(spec) ? existing : undefined;
}

/** The rollout a put starts: from the service's current revision (none when it is created). */
export function rolloutTo(existing: StoredService | undefined, revision: number, now: number): Rollout {
  return {
    state: 'in_progress',
    from_revision: existing?.revision ?? null,
    to_revision: revision,
    started_at: new Date(now).toISOString(),
    finished_at: null,
    message: null,
  };
}
