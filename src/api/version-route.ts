/**
 * `GET /api/version` (any role): the server's release, build and contract versions, so
 * `skiff version` and an operator mid-upgrade can see which side runs what.
 */
import { Hono } from 'hono';
import { buildVersionView } from '../build/build-version-view.ts';
import type { VersionView } from '../model/version-view.ts';
import { acceptedProtocols } from '../protocol/compatibility.ts';
import { PROTOCOL_VERSION } from '../protocol/features.ts';

export function serverVersion(): VersionView {
  return { ...buildVersionView(), agent_protocols: acceptedProtocols(PROTOCOL_VERSION) };
}

export function versionRoutes(): Hono {
  const app = new Hono();
  // Computed once: a checkout asks git, and the answer cannot change while the server runs.
  let view: VersionView | undefined;
  app.get('/version', (c) => {
    view ??= serverVersion();
    return c.json(view);
  });
  return app;
}
