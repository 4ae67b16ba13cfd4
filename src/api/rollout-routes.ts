/**
 * Rollout routes: a service's revisions (history) and undo (return to an earlier revision, which
 * keeps the replicas still running it). A rollout's status is the `rollout` field of the service.
 */
import { Hono } from 'hono';
import { rollbackRequestSchema } from '../model/rollout.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError, NotFoundError, ValidationError } from './errors.ts';
import { assertAdmitted } from './policy-routes.ts';
import { serviceView } from './views.ts';

export function rolloutRoutes(deps: ApiDeps): Hono {
  const { store, controller, events, now } = deps;
  const app = new Hono();

  app.get('/services/:name/revisions', (c) => {
    const name = c.req.param('name');
    const service = store.getService(name);
    if (!service) throw new NotFoundError(`service ${name}`);
    return c.json(
      store.listRevisions(name).map((r) => ({
        revision: r.revision,
        image: r.spec.image,
        created_at: new Date(r.createdAt).toISOString(),
        current: r.revision === service.revision,
      })),
    );
  });

  app.post('/services/:name/rollback', async (c) => {
    const name = c.req.param('name');
    const service = store.getService(name);
    if (!service) throw new NotFoundError(`service ${name}`);
    const text = await c.req.text();
    const parsed = rollbackRequestSchema.safeParse(text.trim() === '' ? {} : safeJson(text));
    if (!parsed.success) throw new ValidationError('rollback request', parsed.error);
    const revisions = store.listRevisions(name).map((r) => r.revision);
    const target =
      parsed.data.revision ?? previousRevision(service.revision, service.rollout?.from_revision, revisions);
    if (target === undefined)
      throw new HttpError(409, `service ${name} has no earlier revision to return to`);
    if (!revisions.includes(target))
      throw new HttpError(400, `revision: service ${name} has no revision ${target}`);
    if (target === service.revision)
      throw new HttpError(409, `service ${name} already runs revision ${target}`);
    // The policy may have tightened since that revision ran.
    const targetSpec = store.getRevision(name, target);
    if (targetSpec) assertAdmitted(store, targetSpec);
    const at = new Date(now()).toISOString();
    store.revertService(
      name,
      target,
      {
        state: 'in_progress',
        from_revision: service.revision,
        to_revision: target,
        started_at: at,
        finished_at: null,
        message: `undo to revision ${target}`,
      },
      now(),
    );
    events.append(
      {
        type: 'rollout',
        service: name,
        container: null,
        node: null,
        message: `Rolling ${name} back from revision ${service.revision} to revision ${target}`,
      },
      now(),
    );
    await controller.settle();
    const updated = store.getService(name);
    if (!updated) throw new NotFoundError(`service ${name}`);
    return c.json(serviceView(updated, store.listTasks(name)));
  });

  return app;
}

/** The revision the current one replaced, else the newest older one. */
function previousRevision(
  current: number,
  from: number | null | undefined,
  revisions: readonly number[],
): number | undefined {
  if (from !== null && from !== undefined && from !== current && revisions.includes(from)) return from;
  return revisions.filter((r) => r < current).at(-1);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}
