/**
 * The permission every API route needs, in one table keyed by Hono's route (`METHOD /api/path`).
 * A route missing here needs admin (fail closed), and the route × role table test walks the app's
 * routes against this table, so a new route without an entry fails the tests.
 */
import type { Permission } from './roles.ts';

export const ROUTE_PERMISSIONS: Readonly<Record<string, Permission>> = {
  'GET /api/openapi.json': 'read',
  'GET /api/version': 'read',
  'GET /api/services': 'read',
  'GET /api/services/:name': 'read',
  'GET /api/services/:name/logs': 'read',
  'GET /api/services/:name/revisions': 'read',
  'GET /api/events': 'read',
  'GET /api/nodes': 'read',
  'GET /api/nodes/:id': 'read',
  'GET /api/policy': 'read',
  'GET /api/secrets': 'read',
  'GET /api/configs': 'read',
  'GET /api/configs/:name': 'read',
  'GET /api/registries': 'read',
  // Prometheus' scrape: a viewer token in its credentials_file is enough.
  'GET /metrics': 'read',
  'GET /api/stats': 'read',
  'GET /api/services/:name/stats': 'read',
  'GET /api/stacks': 'read',
  'GET /api/stacks/:name': 'read',
  // The dashboard's session (src/api/session-routes.ts): POST and DELETE are served before the
  // gate (signing in is how one passes it), so any caller reaches them.
  'POST /api/session': 'read',
  'DELETE /api/session': 'read',
  'GET /api/session': 'read',
  'GET /api/stream': 'read',
  'GET /api/stream/snapshot': 'read',
  'GET /api/servers': 'read',
  'GET /api/images': 'read',
  'GET /api/volumes': 'read',
  'GET /api/volumes/:name': 'read',

  'POST /api/deploy': 'operate',
  'POST /api/services/:name/scale': 'operate',
  'POST /api/services/:name/rollback': 'operate',
  'DELETE /api/services/:name': 'operate',
  'POST /api/secrets': 'operate',
  'DELETE /api/secrets/:name': 'operate',
  'POST /api/configs': 'operate',
  'DELETE /api/configs/:name': 'operate',
  // A credential lets replicas pull from a registry: who may deploy may log in, as with secrets.
  'POST /api/registries': 'operate',
  'DELETE /api/registries/:registry': 'operate',
  'POST /api/stacks/:name': 'operate',
  'POST /api/stacks/:name/compose': 'operate',
  // A shell in a replica can do anything the replica can: operator, as `docker exec` on a host.
  'GET /api/exec': 'operate',
  'DELETE /api/stacks/:name': 'operate',
  // Removing a volume loses its data, and so does moving one (its replica starts empty): an
  // operator's call, as removing a service is.
  'DELETE /api/volumes/:name': 'operate',
  'POST /api/volumes/:name/move': 'operate',

  'POST /api/nodes/:id/cordon': 'admin',
  'POST /api/nodes/:id/uncordon': 'admin',
  'POST /api/nodes/:id/drain': 'admin',
  'PUT /api/nodes/:id/labels': 'admin',
  'DELETE /api/nodes/:id': 'admin',
  'GET /api/tokens': 'admin',
  'POST /api/tokens': 'admin',
  'DELETE /api/tokens/:name': 'admin',
  // The join token lets a host join the cluster; the CA is the cluster's root of trust.
  'GET /api/join-token': 'admin',
  'POST /api/join-token/rotate': 'admin',
  'POST /api/ca/rotate': 'admin',
  'PUT /api/policy': 'admin',
  'POST /api/policy/allow': 'admin',
  'POST /api/policy/deny': 'admin',
  // Removes images on every host's engine (only unused ones Skiff pulled): a host's housekeeping.
  'POST /api/images/prune': 'admin',
};

/** What a matched route needs; `undefined` route (nothing matched: a 404 follows) needs only a valid token. */
export function permissionFor(method: string, routePath: string | undefined): Permission {
  if (routePath === undefined) return 'read';
  return ROUTE_PERMISSIONS[`${method} ${routePath}`] ?? 'admin';
}
