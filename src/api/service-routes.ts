/**
 * The spec's service routes: deploy, list, inspect, scale, remove. Each change is written to the
 * store and recorded as an event; the route then waits (up to 2 s) for the controller pass that
 * includes it, so the response already shows the replicas it created.
 */
import { Hono } from 'hono';
import type { z } from 'zod';
import { MAX_SERVICES } from '../model/addressing.ts';
import { scaleRequestSchema, serviceSpecSchema } from '../model/service-spec.ts';
import type { ServiceView } from '../model/views.ts';
import { missingRefs, withVersions } from '../secrets/secret-refs.ts';
import type { RouteDeps } from './deps.ts';
import { HttpError, NotFoundError, ValidationError } from './errors.ts';
import { page } from './paging.ts';
import { assertAdmitted } from './policy-routes.ts';
import { describeConflict, publishedPortConflict } from './port-conflicts.ts';
import { serviceView } from './views.ts';

export function serviceRoutes(deps: RouteDeps): Hono {
  const { store, controller, events, addressPool, now } = deps;
  const app = new Hono();

  const view = (name: string): ServiceView => {
    const service = store.getService(name);
    if (!service) throw new NotFoundError(`service ${name}`);
    return serviceView(service, store.listTasks(name));
  };

  app.post('/deploy', async (c) => {
    const parsed = parseBody(await readJson(c.req.raw), serviceSpecSchema, 'service spec');
    assertAdmitted(store, parsed);
    const missing = missingRefs(deps.secrets, parsed);
    if (missing.length > 0) throw new HttpError(400, `invalid service spec: ${missing.join('; ')}`, missing);
    const spec = withVersions(deps.secrets, parsed);
    const conflict = publishedPortConflict(
      spec,
      store.listServices().map((s) => s.spec),
      deps.serverPort?.(),
    );
    if (conflict) throw new HttpError(409, `ports: ${describeConflict(conflict)}`);
    // Addresses are allocated with the spec, in one transaction: a cluster out of addresses
    // refuses the deploy (409) and stores nothing, rather than storing a service no pass can place.
    const result = store.transaction(() => {
      for (const network of spec.networks)
        store.allocate('network', network, 0, addressPool.networkCount - 1);
      store.allocate('service', spec.name, 1, MAX_SERVICES);
      return store.putService(spec, now());
    });
    if (result.created) controller.forgetService(spec.name);
    if (result.changed) {
      const message = result.created
        ? `Service ${spec.name} created: ${spec.replicas} replica(s) of ${spec.image}`
        : `Service ${spec.name} updated to revision ${result.service.revision} (${spec.image}, ${spec.replicas} replica(s))`;
      events.append({ type: 'service', service: spec.name, container: null, node: null, message }, now());
    }
    await controller.settle();
    return c.json(view(spec.name), result.created ? 201 : 200);
  });

  app.get('/services', (c) => {
    const services = page(c, store.listServices(), (s) => s.spec.name);
    const names = new Set(services.map((s) => s.spec.name));
    const tasks = Map.groupBy(
      store.taskSnapshot().filter((t) => names.has(t.service)),
      (t) => t.service,
    );
    return c.json(services.map((service) => serviceView(service, tasks.get(service.spec.name) ?? [])));
  });

  app.get('/services/:name', (c) => c.json(view(c.req.param('name'))));

  app.post('/services/:name/scale', async (c) => {
    const name = c.req.param('name');
    const existing = store.getService(name);
    if (!existing) throw new NotFoundError(`service ${name}`);
    const { replicas } = parseBody(await readJson(c.req.raw), scaleRequestSchema, 'scale request');
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
    if (!store.deleteService(name)) throw new NotFoundError(`service ${name}`);
    events.append(
      { type: 'service', service: name, container: null, node: null, message: `Service ${name} removed` },
      now(),
    );
    await controller.settle();
    return c.json({ deleted: name });
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

function parseBody<S extends z.ZodType>(body: unknown, schema: S, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ValidationError(what, parsed.error);
  return parsed.data;
}
