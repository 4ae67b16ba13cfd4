/**
 * `GET /api/stream` (the WebSocket: behind the same auth gate as every route, then the `Origin`
 * check, then handed to the upgrade handler, stream-upgrade.ts) and `GET /api/stream/snapshot`
 * (the same snapshot as JSON: the fallback for when a proxy blocks WebSockets; its ETag is the
 * stream version, so a poll that finds nothing new is a 304 with no body).
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Principal } from '../../auth/authenticate.ts';
import { currentPrincipal } from '../../auth/authenticate.ts';
import { originAllowed } from '../session-origin.ts';
import type { StreamHub } from './stream-hub.ts';

/** Where the upgrade handler leaves its callback in a request's env (Hono's `c.env`). */
export const STREAM_UPGRADE_ENV = 'skiffStreamUpgrade';

export interface StreamUpgrade {
  /** The gate passed: upgrade this request's socket for this caller. */
  accept(principal: Principal, stillValid: () => boolean): void;
}

export interface LiveRouteDeps {
  readonly hub: StreamHub;
  readonly allowedOrigins: readonly string[];
  /** A check that the request's credential (cookie or bearer) still holds, for later. */
  readonly credentialCheck: (c: Context) => () => boolean;
}

export function liveRoutes(deps: LiveRouteDeps): Hono {
  const app = new Hono();

  app.get('/stream', (c) => {
    const principal = currentPrincipal();
    if (!principal) return c.json({ error: 'not signed in' }, 401);
    // A WebSocket is not bound by the same-origin policy: a page elsewhere would ride the cookie.
    if (!originAllowed(c.req.raw, deps.allowedOrigins))
      return c.json({ error: `origin ${c.req.header('origin')} may not open the stream` }, 403);
    const env: unknown = c.env;
    const upgrade =
      typeof env === 'object' && env !== null
        ? (env as Record<string, StreamUpgrade | undefined>)[STREAM_UPGRADE_ENV]
        : undefined;
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket' || !upgrade)
      return c.json(
        {
          error:
            'GET /api/stream is a WebSocket (Upgrade: websocket); to poll instead, GET /api/stream/snapshot',
        },
        426,
      );
    upgrade.accept(principal, deps.credentialCheck(c));
    return c.body(null, 204);
  });

  app.get('/stream/snapshot', (c) => {
    const principal = currentPrincipal();
    if (!principal) return c.json({ error: 'not signed in' }, 401);
    const snapshot = deps.hub.snapshot(principal);
    const etag = `"${snapshot.epoch}:${snapshot.seq}:${principal.name}"`;
    c.header('ETag', etag);
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    return c.json(snapshot);
  });

  return app;
}
