/**
 * The spec's service routes: deploy, list, inspect, scale, remove. Each change is written to the
 * store and recorded as an event; the route then waits (up to 2 s) for the controller pass that
 * includes it, so the response already shows the replicas it created.
 */
import { Hono } from 'hono';
import { scaleOutsideRange } from '../autoscale/autoscale-spec.ts';
import { scaleRequestSchema } from '../model/service-spec.ts';
import type { ServiceView } from '../model/views.ts';
import { readVolumes, requestRemoval } from '../server/volume-registry.ts';
import { admitSpec, assertNoConflicts, commitDeploys, parseBody } from './deploy-service.ts';
import type { RouteDeps } from './deps.ts';
import { HttpError, NotFoundError } from './errors.ts';
import { page } from './paging.ts';
import { pinImages } from './pin-images.ts';
import { assertAdmitted } from './policy-routes.ts';
import { ServiceViewCache } from './service-view-cache.ts';
import { serviceView } from './views.ts';
import { volumeProblems } from './volume-problems.ts';
import { sendRemovals } from './volume-routes.ts';
import { serviceVolumeNames } from './volume-views.ts';

export function serviceRoutes(deps: RouteDeps): Hono {
  const { store, controller, events, now } = deps;
  const app = new Hono();

  const view = (name: string): ServiceView => {
    const service = store.getService(name);
    if (!service) throw new NotFoundError(`service ${name}`);
    return serviceView(service, store.listTasks(name));
  };

  app.post('/deploy', async (c) => {
    const admitted = admitSpec(deps, await readJson(c.req.raw));
    // Resolved first: what follows is synchronous, so nothing changes between check and store.
    const pinned = await pinImages(deps, [admitted]);
    const spec = pinned.specs[0] ?? admitted;
    assertNoConflicts(deps, [spec]);
    const [result] = commitDeploys(deps, [spec]);
    for (const event of pinned.events) events.append({ ...event, node: null }, now());
    await controller.settle();
    return c.json(view(spec.name), result?.created ? 201 : 200);
  });

  // Each service's view serialised once per change of its records, not at every request.
  const views = new ServiceViewCache();
  app.get('/services', (c) => {
    const all = store.listServices();
    const services = page(c, all, (s) => s.spec.name);
    const names = new Set(services.map((s) => s.spec.name));
    const tasks = Map.groupBy(
      store.taskSnapshot().filter((t) => names.has(t.service)),
      (t) => t.service,
    );
    const texts = services.map((service) => views.text(service, tasks.get(service.spec.name) ?? []));
    views.retain(new Set(all.map((s) => s.spec.name)));
    // What c.json would write: the array's JSON is its items' JSON, comma-separated.
    return c.body(`[${texts.join(',')}]`, 200, { 'Content-Type': 'application/json' });
  });

  app.get('/services/:name', (c) => c.json(view(c.req.param('name'))));

  app.post('/services/:name/scale', async (c) => {
    const name = c.req.param('name');
    const existing = store.getService(name);
    if (!existing) throw new NotFoundError(`service ${name}`);
    const { replicas } = parseBody(await readJson(c.req.raw), scaleRequestSchema, 'scale request');
    const outside = scaleOutsideRange(existing.spec, replicas);
    if (outside) throw new HttpError(400, outside);
    if (existing.spec.mode === 'global')
      throw new HttpError(
        400,
        `replicas: ${name} is a global service: it runs one replica on each node it matches`,
      );
    // More replicas of a spec the policy now refuses (it changed since the deploy) are refused
    // too; fewer are not, so a refused service can still be wound down.
    if (replicas > existing.spec.replicas) assertAdmitted(store, existing.spec);
    const volumes = volumeProblems(existing.spec, replicas);
    if (volumes.length > 0) throw new HttpError(400, `replicas: ${volumes.join('; ')}`, volumes);
    if (replicas !== existing.spec.replicas) {
      store.setReplicas(name, replicas, now());
      events.append(
        {
          type: 'scale',
          service: name,
          container: null,
          node: null,
          message: `Scaled ${name} from ${existing.spec.replicas} to ${replicas} replica(s)`,
        },
        now(),
      );
    }
    await controller.settle();
    return c.json(view(name));
  });

  app.delete('/services/:name', async (c) => {
    const name = c.req.param('name');
    const withVolumes = c.req.query('volumes') === 'true';
    const spec = store.getService(name)?.spec;
    if (!spec || !store.deleteService(name)) throw new NotFoundError(`service ${name}`);
    // Volumes are kept unless asked: a removed database's data survives a mistaken `skiff rm`.
    const volumes = withVolumes ? serviceVolumeNames(readVolumes(store), spec) : [];
    const message =
      volumes.length > 0
        ? `Service ${name} removed, with its volumes (${volumes.join(', ')})`
        : `Service ${name} removed`;
    events.append({ type: 'service', service: name, container: null, node: null, message }, now());
    const holders = requestRemoval(store, volumes);
    await controller.settle();
    // Asked after the pass that stops the replicas: agents remove a volume once no container has it.
    sendRemovals(deps, holders, volumes);
    return c.json({ deleted: name, ...(withVolumes ? { volumes } : {}) });
  });

  return app;
}

export async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') throw new HttpError(400, 'request body must be a JSON object');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}
