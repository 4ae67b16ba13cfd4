/**
 * Registry credential routes (`skiff registry login|ls|logout`): store one (sealed like a secret),
 * list them (never a password), remove one. Nodes get a changed credential with their next
 * assignment, so a replica backing off on "needs a credential" pulls on its next try. Events name
 * the registry and the user, never the password.
 */
import { Hono } from 'hono';
import type { RegistryView } from '../model/registry-views.ts';
import { registryLoginRequestSchema } from '../model/registry-views.ts';
import type { RegistryEntry } from '../registry/credential-store.ts';
import { REGISTRY_HOST_PATTERN } from '../registry/credential-store.ts';
import { parseBody } from './deploy-service.ts';
import type { RouteDeps } from './deps.ts';
import { HttpError, NotFoundError } from './errors.ts';
import { readJson } from './service-routes.ts';

export function registryRoutes(
  deps: Pick<RouteDeps, 'registries' | 'cluster' | 'controller' | 'events' | 'now'>,
): Hono {
  const { registries, cluster, controller, events, now } = deps;
  const app = new Hono();
  const record = (message: string) =>
    events.append({ type: 'registry', service: null, container: null, node: null, message }, now());
  const resend = async () => {
    cluster.resendAssignments();
    controller.trigger();
    await controller.settle();
  };

  app.get('/registries', (c) => c.json(registries.list().map(view)));

  app.post('/registries', async (c) => {
    const request = parseBody(await readJson(c.req.raw), registryLoginRequestSchema, 'registry login');
    if (!REGISTRY_HOST_PATTERN.test(request.registry))
      throw new HttpError(
        400,
        `registry: ${request.registry} is not a registry host as image references name it (HOST or HOST:PORT, no scheme or path; docker.io for Docker Hub)`,
      );
    const existed = registries.list().some((e) => e.registry === request.registry);
    const { entry, changed } = registries.put(
      request.registry,
      { username: request.username, password: request.password },
      now(),
    );
    if (changed) {
      record(
        `Registry ${entry.registry}: credential of ${entry.username} ${existed ? 'replaced' : 'stored'}`,
      );
      await resend();
    }
    return c.json(view(entry), existed ? 200 : 201);
  });

  app.delete('/registries/:registry', async (c) => {
    const registry = c.req.param('registry');
    if (!registries.remove(registry)) throw new NotFoundError(`registry credential for ${registry}`);
    record(`Registry ${registry}: credential removed`);
    await resend();
    return c.json({ deleted: registry });
  });
  return app;
}

function view(entry: RegistryEntry): RegistryView {
  return {
    registry: entry.registry,
    username: entry.username,
    created_at: new Date(entry.created_at).toISOString(),
    updated_at: new Date(entry.updated_at).toISOString(),
  };
}
