/**
 * `GET /api/servers`: every server of the cluster (its id, advertised URL, whether it leads and
 * since when) and the store's health, answered by any server.
 */
import { Hono } from 'hono';
import type { ServersView } from '../../model/views.ts';
import type { Store } from '../../store/store.ts';
import type { Leadership } from './leadership.ts';

export function serversRoutes(deps: {
  readonly store: Store;
  readonly leadership: () => Leadership | undefined;
}): Hono {
  const app = new Hono();
  app.get('/servers', async (c) => {
    const leadership = deps.leadership();
    const health = deps.store.health();
    const view: ServersView = {
      answered_by: leadership?.self.id ?? 'starting',
      servers: leadership ? await leadership.servers() : [],
      store: {
        kind: health.kind,
        writable: health.writable,
        problem: health.problem,
        location: health.location,
      },
    };
    return c.json(view);
  });
  return app;
}
