/**
 * The HTTP API: bearer-token auth on every /api route, the spec's routes, the OpenAPI document,
 * and one error handler that turns named errors into JSON 4xx bodies (and anything else into a
 * 500 that never takes the server down).
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { authenticate } from '../auth/authenticate.ts';
import { FailedAuthLimiter } from '../auth/failed-auth-limiter.ts';
import { TokenRegistry } from '../auth/token-registry.ts';
import { instrumentRequests } from '../metrics/api-instrumentation.ts';
import { metricsRoute } from '../metrics/metrics-route.ts';
import { METRICS_PATH } from '../metrics/text-format.ts';
import { RegistryCredentialStore } from '../registry/credential-store.ts';
import { HttpsDigestResolver } from '../registry/digest-resolver.ts';
import { SecretStore } from '../secrets/secret-store.ts';
import {
  AllocationExhaustedError,
  NotLeaderError,
  StoreConflictError,
  StoreUnavailableError,
} from '../store/errors.ts';
import { writeOwner } from '../store/write-owner.ts';
import type { ApiDeps, RouteDeps } from './deps.ts';
import { HttpError } from './errors.ts';
import { attributedEvents } from './event-attribution.ts';
import { execRoutes } from './exec-routes.ts';
import { imageRoutes } from './image-routes.ts';
import { nodeRoutes } from './node-routes.ts';
import { openApiDocument } from './openapi.ts';
import { policyRoutes } from './policy-routes.ts';
import { registryRoutes } from './registry-routes.ts';
import { rolloutRoutes } from './rollout-routes.ts';
import { secretRoutes } from './secret-routes.ts';
import { serviceRoutes } from './service-routes.ts';
import { SessionAuthority } from './session-authority.ts';
import { cookieSession, credentialCheck, publicSessionRoutes, sessionRoutes } from './session-routes.ts';
import { stackRoutes } from './stack-routes.ts';
import { defaultDashboardAssets, staticAssets } from './static-assets.ts';
import { statsRoutes } from './stats-routes.ts';
import { liveRoutes } from './stream/live-routes.ts';
import { StreamHub } from './stream/stream-hub.ts';
import { streamSource } from './stream/stream-source.ts';
import { streamRoutes } from './stream-routes.ts';
import { tokenRoutes } from './token-routes.ts';
import { versionRoutes } from './version-route.ts';
import { volumeRoutes } from './volume-routes.ts';

const MAX_BODY_BYTES = 1024 * 1024;

export interface AppOptions {
  /** The API tokens; by default kept in deps.store. */
  readonly tokens?: TokenRegistry;
  /** Slows down failed authentications per address; one per app by default. */
  readonly limiter?: FailedAuthLimiter;
}

export function createApp(
  apiDeps: ApiDeps,
  log: (message: string) => void = () => {},
  options: AppOptions = {},
): Hono {
  const app = new Hono();
  const document = openApiDocument();
  const tokens = options.tokens ?? new TokenRegistry(apiDeps.store);
  const limiter = options.limiter ?? new FailedAuthLimiter();
  // Routes write events that name the caller; the controller and agents keep the plain log.
  const secrets = apiDeps.secrets ?? new SecretStore(apiDeps.store, randomBytes(32));
  const deps: RouteDeps = {
    ...apiDeps,
    secrets,
    registries: apiDeps.registries ?? new RegistryCredentialStore(apiDeps.store, randomBytes(32)),
    digestResolver: apiDeps.digestResolver ?? new HttpsDigestResolver(),
    events: attributedEvents(apiDeps.events),
  };

  if (deps.metrics) app.use('*', instrumentRequests(deps.metrics));
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  // Sessions are signed under the cluster key's derivative, so every server accepts them; without
  // one (simulations), under a key that dies with the app.
  const sessions = new SessionAuthority({
    key: deps.sessionKey ?? randomBytes(32),
    store: deps.store,
    tokens,
    adminToken: deps.adminToken,
  });
  const auth = {
    adminToken: deps.adminToken,
    tokens,
    limiter,
    now: deps.now,
    sessions: cookieSession(sessions, deps.now),
  };
  // A write is answered once the store has committed it (etcd: its transaction; SQLite: at
  // once), so a 2xx means durable and a refused commit is the answer (below) instead.
  // First of all: signing out must be durable too, so no other server accepts the cookie after.
  app.use('/api/*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return await next();
    const owner = {};
    await writeOwner.run(owner, next);
    await deps.store.durable(owner);
  });

  // Signing in and out come before the gate: they are how one passes it, or stops to.
  app.route(
    '/api',
    publicSessionRoutes({
      ...auth,
      authority: sessions,
      events: deps.events,
      allowedOrigins: deps.allowedOrigins ?? [],
    }),
  );
  const gate = authenticate(auth);
  app.use('/api/*', gate);
  // Any role may read the metrics (route-permissions.ts); they say nothing a viewer cannot see.
  app.use(METRICS_PATH, gate);
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `request body too large (at most ${MAX_BODY_BYTES} bytes)` }, 413),
    }),
  );

  app.get('/api/openapi.json', (c) => c.json(document));
  app.route('/api', versionRoutes());
  app.route('/api', sessionRoutes(sessions, deps.now));
  const hub = deps.streamHub ?? new StreamHub({ source: streamSource(deps), now: deps.now });
  app.route(
    '/api',
    liveRoutes({
      hub,
      allowedOrigins: deps.allowedOrigins ?? [],
      credentialCheck: credentialCheck(sessions, auth),
    }),
  );
  app.route('/api', serviceRoutes(deps));
  app.route('/api', streamRoutes(deps));
  app.route('/api', nodeRoutes(deps));
  app.route('/api', volumeRoutes(deps));
  app.route('/api', rolloutRoutes(deps));
  app.route('/api', statsRoutes(deps));
  app.route('/api', imageRoutes(deps));
  for (const routes of deps.extraApiRoutes ?? []) app.route('/api', routes);
  app.route('/api', tokenRoutes({ tokens, events: deps.events, now: deps.now }));
  app.route('/api', policyRoutes(deps));
  app.route('/api', secretRoutes(deps, deps.secrets));
  app.route('/api', registryRoutes(deps));
  if (deps.metrics) app.route('/', metricsRoute(deps.metrics));
  app.route('/api', stackRoutes(deps));
  app.route('/api', execRoutes(deps));
  // Last: the dashboard answers only what no route did, and never under the server's own prefixes.
  app.use('*', staticAssets(deps.assets ?? defaultDashboardAssets()));

  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));
  app.onError((error, c) => {
    // Running out of network or VIP addresses is a state of the cluster, not a server fault.
    if (error instanceof AllocationExhaustedError) return c.json({ error: error.message }, 409);
    // The store could not commit: etcd without quorum or space, or this server lost leadership.
    if (error instanceof StoreUnavailableError || error instanceof NotLeaderError)
      return c.json({ error: `the cluster store refused the write: ${error.message}` }, 503);
    if (error instanceof StoreConflictError) return c.json({ error: error.message }, 409);
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
