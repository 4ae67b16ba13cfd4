/**
 * Admin routes of the cluster's trust, under /api (behind its auth): the join token and its
 * rotation, and the CA's rotation (cluster-pki.ts). Rotating the join token changes only the secret: joined agents use their node
 * certificates and are not disturbed; agents not yet joined need the new token.
 */
import { Hono } from 'hono';
import type { EventLog } from '../server/event-log.ts';
import type { ClusterPki } from './cluster-pki.ts';

export function securityApiRoutes(deps: {
  readonly pki: ClusterPki;
  readonly events: EventLog;
  readonly now: () => number;
}): Hono {
  const app = new Hono();
  app.get('/join-token', (c) => c.json({ join_token: deps.pki.joinToken, ca_digest: deps.pki.caDigest }));
  app.post('/join-token/rotate', (c) => {
    const token = deps.pki.rotateJoinToken();
    deps.events.append(
      { type: 'node', service: null, container: null, node: null, message: 'Join token rotated' },
      deps.now(),
    );
    return c.json({ join_token: token, ca_digest: deps.pki.caDigest });
  });
  app.post('/ca/rotate', async (c) => {
    const token = await deps.pki.rotateCa();
    deps.events.append(
      {
        type: 'node',
        service: null,
        container: null,
        node: null,
        message: 'Cluster CA rotated: the previous CA stays trusted; join tokens reissued',
      },
      deps.now(),
    );
    return c.json({ join_token: token, ca_digest: deps.pki.caDigest });
  });
  return app;
}
