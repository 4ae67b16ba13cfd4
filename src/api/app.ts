/**
 * The HTTP API: bearer-token auth on every /api route, the spec's routes, the OpenAPI document,
 * and one error handler that turns named errors into JSON 4xx bodies (and anything else into a
 * 500 that never takes the server down).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { bearerToken, tokenMatches } from '../server/tokens.ts';
import { AllocationExhaustedError } from '../store/store.ts';
import type { ApiDeps } from './deps.ts';
import { HttpError } from './errors.ts';
import { nodeRoutes } from './node-routes.ts';
import { openApiDocument } from './openapi.ts';
import { rolloutRoutes } from './rollout-routes.ts';
import { serviceRoutes } from './service-routes.ts';
import { streamRoutes } from './stream-routes.ts';

const MAX_BODY_BYTES = 1024 * 1024;

export function createApp(deps: ApiDeps, log: (message: string) => void = () => {}): Hono {
  const app = new Hono();
  const document = openApiDocument();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.use('/api/*', async (c, next) => {
    if (!tokenMatches(bearerToken(c.req.header('authorization')), deps.adminToken)) {
      c.header('WWW-Authenticate', 'Bearer realm="skiff"');
      return c.json({ error: 'missing or invalid bearer token (Authorization: Bearer <admin token>)' }, 401);
    }
    await next();
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `request body too large (at most ${MAX_BODY_BYTES} bytes)` }, 413),
    }),
  );

  app.get('/api/openapi.json', (c) => c.json(document));
  app.route('/api', serviceRoutes(deps));
  app.route('/api', streamRoutes(deps));
  app.route('/api', nodeRoutes(deps));
  app.route('/api', rolloutRoutes(deps));
  for (const routes of deps.extraApiRoutes ?? []) app.route('/api', routes);

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((error, c) => {
    // Running out of network or VIP addresses is a state of the cluster, not a server fault.
    if (error instanceof AllocationExhaustedError) return c.json({ error: error.message }, 409);
    if (error instanceof HttpError) {
      // Every 400 says what was wrong in `details`, even when there is one thing to say.
      const details = error.details ?? (error.status === 400 ? [error.message] : undefined);
      return c.json(details ? { error: error.message, details } : { error: error.message }, error.status);
    }
    log(`internal error on ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}`);
    return c.json({ error: 'internal server error' }, 500);
  });
  return app;
}
