/**
 * The dashboard's sign-in: `POST /api/session` exchanges a token for an HttpOnly, SameSite=Strict
 * session cookie (Secure over TLS), `GET /api/session` says who the caller is and the CSRF token,
 * `DELETE /api/session` signs out. POST and DELETE are mounted ahead of the auth gate (signing in
 * is how one gets past it; signing out must work with a session that no longer does); POST pays
 * into the same failed-authentication limiter as a wrong bearer token.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { ADMIN_TOKEN_NAME, hashToken } from '../auth/api-tokens.ts';
import type { AuthOptions, Principal } from '../auth/authenticate.ts';
import { currentPrincipal, identifyBearer, remoteAddress } from '../auth/authenticate.ts';
import { isLoopback } from '../auth/failed-auth-limiter.ts';
import { bearerToken } from '../server/tokens.ts';
import type { EventSink } from './event-attribution.ts';
import type { Session, SessionAuthority } from './session-authority.ts';
import { SESSION_COOKIE } from './session-cookie.ts';
import { originAllowed } from './session-origin.ts';
import type { SessionView } from './stream/messages.ts';

const MAX_SIGN_IN_BODY_BYTES = 4096;

/** The routes any caller reaches, token or not. */
export const PUBLIC_API_ROUTES: readonly string[] = ['POST /api/session', 'DELETE /api/session'];

const signInSchema = z.strictObject({ token: z.string().min(1).max(512) });

export interface SessionRouteDeps extends AuthOptions {
  readonly authority: SessionAuthority;
  readonly events: EventSink;
  readonly allowedOrigins: readonly string[];
}

/** The session of a request's cookie, if any: what the auth gate's `sessions` option calls. */
export function cookieSession(authority: SessionAuthority, now: () => number) {
  return (c: Context): Session | undefined => {
    const value = getCookie(c, SESSION_COOKIE);
    return value === undefined ? undefined : authority.identify(value, now());
  };
}

/** A check, for later, that the credential this request used (bearer or cookie) still holds. */
export function credentialCheck(
  authority: SessionAuthority,
  auth: Pick<AuthOptions, 'adminToken' | 'tokens' | 'now'>,
) {
  return (c: Context): (() => boolean) => {
    const presented = bearerToken(c.req.header('authorization'));
    if (presented !== undefined) return () => identifyBearer(presented, auth) !== undefined;
    const cookie = getCookie(c, SESSION_COOKIE);
    return () => cookie !== undefined && authority.identify(cookie, auth.now()) !== undefined;
  };
}

function viewOf(principal: Principal, session: Session | undefined): SessionView {
  return {
    name: principal.name,
    role: principal.role,
    via: session ? 'session' : 'bearer',
    csrf_token: session?.csrf ?? null,
    expires_at: session ? new Date(session.payload.exp).toISOString() : null,
  };
}

const isTls = (c: Context) => new URL(c.req.url).protocol === 'https:';

/** POST and DELETE: mounted before the auth gate. */
export function publicSessionRoutes(deps: SessionRouteDeps): Hono {
  const app = new Hono();
  // The gate's body limit does not cover this route: its own, small, before anything is read.
  const limit = bodyLimit({
    maxSize: MAX_SIGN_IN_BODY_BYTES,
    onError: (c) =>
      c.json({ error: `request body too large (at most ${MAX_SIGN_IN_BODY_BYTES} bytes)` }, 413),
  });
  app.post('/session', limit, async (c) => {
    const now = deps.now();
    if (!originAllowed(c.req.raw, deps.allowedOrigins))
      return c.json({ error: `origin ${c.req.header('origin')} may not sign in here` }, 403);
    const address = remoteAddress(c);
    const limited = address !== undefined && !isLoopback(address);
    if (limited) {
      const waitMs = deps.limiter.retryAfterMs(address, now);
      if (waitMs > 0) {
        c.header('Retry-After', String(Math.ceil(waitMs / 1000)));
        return c.json({ error: `too many failed authentications from ${address}` }, 429);
      }
    }
    const text = await c.req.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return c.json(
        { error: 'request body must be JSON: {"token": "<token>"}', details: ['token: required'] },
        400,
      );
    }
    const body = signInSchema.safeParse(json);
    if (!body.success)
      return c.json(
        { error: 'request body must be {"token": "<token>"}', details: ['token: required'] },
        400,
      );
    const principal = identifyBearer(body.data.token, deps);
    if (!principal) {
      if (limited) deps.limiter.recordFailure(address, now);
      return c.json({ error: 'invalid or expired token' }, 401);
    }
    const stored =
      principal.name === ADMIN_TOKEN_NAME
        ? undefined
        : deps.tokens.list().find((t) => t.name === principal.name);
    const { cookie, session } = deps.authority.create(
      principal,
      { hash: hashToken(body.data.token), expiresAt: stored?.expires_at ?? null },
      now,
    );
    setCookie(c, SESSION_COOKIE, cookie, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: isTls(c),
      path: '/',
      maxAge: Math.max(1, Math.floor((session.payload.exp - now) / 1000)),
    });
    deps.events.append(
      {
        type: 'token',
        service: null,
        container: null,
        node: null,
        message: `Dashboard session started with token ${principal.name} (role ${principal.role})`,
      },
      now,
    );
    return c.json(viewOf(principal, session), 201);
  });

  app.delete('/session', (c) => {
    const now = deps.now();
    const value = getCookie(c, SESSION_COOKIE);
    const payload = value === undefined ? undefined : deps.authority.payloadOf(value, now);
    if (payload) {
      deps.authority.revoke(payload, now);
      deps.events.append(
        {
          type: 'token',
          service: null,
          container: null,
          node: null,
          message: `Dashboard session of token ${payload.name} signed out`,
        },
        now,
      );
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isTls(c), httpOnly: true, sameSite: 'Strict' });
    return c.json({ signed_out: payload !== undefined });
  });
  return app;
}

/** GET: behind the auth gate (a bearer caller gets its name and role, and no CSRF token). */
export function sessionRoutes(authority: SessionAuthority, now: () => number): Hono {
  const app = new Hono();
  const sessionOf = cookieSession(authority, now);
  app.get('/session', (c) => {
    const principal = currentPrincipal();
    if (!principal) return c.json({ error: 'not signed in' }, 401);
    const bearer = c.req.header('authorization') !== undefined;
    return c.json(viewOf(principal, bearer ? undefined : sessionOf(c)));
  });
  return app;
}
