/**
 * Whether a service has reached what was asked of it, judged from one `ServiceView`: the decision
 * `deploy` and `scale` poll on, and the progress line they show meanwhile. Pure.
 */
import type { ObservedState } from '../model/task.ts';
import type { ServiceView } from '../model/views.ts';

export type Convergence =
  | { readonly state: 'converged' }
  | { readonly state: 'failed'; readonly reason: string }
  | { readonly state: 'waiting'; readonly progress: string };

type ServiceProgress = Pick<
  ServiceView,
  'name' | 'status' | 'message' | 'replicas' | 'running' | 'healthy' | 'revision' | 'containers'
> &
  Partial<Pick<ServiceView, 'rollout'>>;

/**
 * `expectedRevision` is the revision a deploy created: the wait then also fails when that
 * revision's rollout failed or was rolled back, and succeeds only on that revision.
 */
export function judgeConvergence(service: ServiceProgress, expectedRevision?: number): Convergence {
  const rollout = service.rollout;
  if (expectedRevision !== undefined && rollout?.to_revision === expectedRevision) {
    if (rollout.state === 'rolled_back') {
      return {
        state: 'failed',
        reason: `rolled back to revision ${service.revision}: ${rollout.message ?? 'the new revision failed'}`,
      };
    }
    if (rollout.state === 'failed') {
      return { state: 'failed', reason: `rollout failed: ${rollout.message ?? 'the new revision failed'}` };
    }
  }
  if (service.status === 'failed') return { state: 'failed', reason: service.message ?? 'no reason given' };
  const onRevision = expectedRevision === undefined || service.revision === expectedRevision;
  if (onRevision && isConverged(service)) return { state: 'converged' };
  return { state: 'waiting', progress: describeProgress(service) };
}

/**
 * Every wanted replica runs and is healthy, and nothing else is left: no replica of an older
 * revision still serving, none still stopping after a scale-down.
 */
export function isConverged(service: ServiceProgress): boolean {
  if (service.replicas === 0) return service.containers.length === 0;
  return (
    service.running === service.replicas &&
    service.healthy === service.replicas &&
    service.containers.every((c) => c.revision === service.revision && c.status === 'running')
  );
}

/** The order states are listed in: roughly the order a replica goes through them. */
const STATE_ORDER: readonly ObservedState[] = [
  'pending',
  'assigned',
  'pulling',
  'starting',
  'backoff',
  'exited',
  'failed',
  'stopping',
];

/** `waiting for api-server: 2/3 running, 1 starting`, with health, leftovers and the server's reason. */
export function describeProgress(service: ServiceProgress): string {
  const parts = [`${service.running}/${service.replicas} running`];
  const current = service.containers.filter((c) => c.revision === service.revision);
  for (const state of STATE_ORDER) {
    const count = current.filter((c) => c.status === state).length;
    if (count > 0) parts.push(`${count} ${state}`);
  }
  if (service.healthy !== service.running) parts.push(`${service.healthy}/${service.replicas} healthy`);
  const outdated = service.containers.length - current.length;
  if (outdated > 0) parts.push(`${outdated} outdated`);
  const reason = service.message ? ` (${service.message})` : '';
  return `waiting for ${service.name}: ${parts.join(', ')}${reason}`;
}

/** Why the wait gave up, for `error: api-server did not converge within 120s: <this>`. */
export function notConvergedReason(service: Pick<ServiceView, 'message' | 'status'>): string {
  return service.message ?? service.status;
}
