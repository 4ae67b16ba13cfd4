/**
 * API token routes (admin only, see auth/route-permissions.ts): list, create (the answer carries
 * the secret, the only time it is shown), remove. Each change is an event naming who made it.
 */
import { Hono } from 'hono';
import type { StoredToken } from '../auth/api-tokens.ts';
import { ADMIN_TOKEN_NAME, parseExpiryMs } from '../auth/api-tokens.ts';
import type { TokenRegistry } from '../auth/token-registry.ts';
import { TokenExistsError } from '../auth/token-registry.ts';
import type { TokenView } from '../model/access-views.ts';
import { createTokenRequestSchema } from '../model/access-views.ts';
import { HttpError, NotFoundError, ValidationError } from './errors.ts';
import type { EventSink } from './event-attribution.ts';
import { readJson } from './service-routes.ts';

export interface TokenRouteDeps {
  readonly tokens: TokenRegistry;
  readonly events: EventSink;
  readonly now: () => number;
}

export function tokenRoutes({ tokens, events, now }: TokenRouteDeps): Hono {
  const app = new Hono();
  const record = (message: string) =>
    events.append({ type: 'token', service: null, container: null, node: null, message }, now());

  app.get('/tokens', (c) => c.json(tokens.list().map(tokenView)));

  app.post('/tokens', async (c) => {
    const parsed = createTokenRequestSchema.safeParse(await readJson(c.req.raw));
    if (!parsed.success) throw new ValidationError('token request', parsed.error);
    const { name, role, expires_in } = parsed.data;
    if (name === ADMIN_TOKEN_NAME)
      throw new HttpError(409, 'the name admin belongs to the admin token (DIR/admin.token)');
    const lifetimeMs = expires_in === undefined ? undefined : parseExpiryMs(expires_in);
    try {
      const created = tokens.create(name, role, lifetimeMs === undefined ? null : now() + lifetimeMs, now());
      record(`Token ${name} created with role ${role}${expires_in ? `, expires in ${expires_in}` : ''}`);
      return c.json({ ...tokenView(created.token), token: created.secret }, 201);
    } catch (error) {
      if (error instanceof TokenExistsError) throw new HttpError(409, error.message);
      throw error;
    }
  });

  app.delete('/tokens/:name', (c) => {
    const name = c.req.param('name');
    if (!tokens.remove(name)) throw new NotFoundError(`token ${name}`);
    record(`Token ${name} removed`);
    return c.json({ deleted: name });
  });

  return app;
}

function tokenView(token: StoredToken): TokenView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    name: token.name,
    role: token.role,
    created_at: new Date(token.created_at).toISOString(),
    expires_at: iso(token.expires_at),
    last_used_at: iso(token.last_used_at),
  };
}
