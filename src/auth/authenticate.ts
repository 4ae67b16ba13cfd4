/**
 * The API's gate: who is calling (the admin token, or an API token by its hash), whether the
 * caller's address is trying too often, and whether the caller's role may use the matched route.
 * The caller is kept for the rest of the request (`currentPrincipal`) so events can name it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { bearerToken, tokenMatches } from '../server/tokens.ts';
import { ADMIN_TOKEN_NAME } from './api-tokens.ts';
import type { FailedAuthLimiter } from './failed-auth-limiter.ts';
import { isLoopback } from './failed-auth-limiter.ts';
import type { Role } from './roles.ts';
import { ROLE_NEEDED, roleAllows } from './roles.ts';
import { permissionFor } from './route-permissions.ts';
import type { TokenRegistry } from './token-registry.ts';

export interface Principal {
  /** The token's name; `admin` for the admin token of DIR/admin.token. */
  readonly name: string;
  readonly role: Role;
}

const principals = new AsyncLocalStorage<Principal>();

/** The caller of the request being handled, or undefined outside one. */
export function currentPrincipal(): Principal | undefined {
  return principals.getStore();
}

export interface AuthOptions {
  readonly adminToken: string;
  readonly tokens: TokenRegistry;
  readonly limiter: FailedAuthLimiter;
  readonly now: () => number;
  /**
   * The dashboard's session cookie (src/api/session-authority.ts), used when no bearer token is
   * presented: its principal and the CSRF token state-changing requests must carry.
   */
  readonly sessions?: (c: Context) => { readonly principal: Principal; readonly csrf: string } | undefined;
}

/** Methods that change nothing: a cookie request with another method needs the CSRF header. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function authenticate(options: AuthOptions): MiddlewareHandler {
  return async (c, next) => {
    const address = remoteAddress(c);
    // Loopback is the server's own host (its admin reads admin.token anyway); in-process requests
    // (tests) have no peer at all.
    const limited = address !== undefined && !isLoopback(address);
    if (limited) {
      const waitMs = options.limiter.retryAfterMs(address, options.now());
      if (waitMs > 0) {
        c.header('Retry-After', String(Math.ceil(waitMs / 1000)));
        return c.json(
          {
            error: `too many failed authentications from ${address}: retry in ${Math.ceil(waitMs / 1000)} s`,
          },
          429,
        );
      }
    }
    const presented = bearerToken(c.req.header('authorization'));
    // A bearer token wins over a cookie: scripts are not CSRF-prone, and say who they are.
    const session = presented === undefined ? options.sessions?.(c) : undefined;
    const principal = session?.principal ?? identifyBearer(presented, options);
    if (!principal) {
      if (limited && presented !== undefined) options.limiter.recordFailure(address, options.now());
      c.header('WWW-Authenticate', 'Bearer realm="skiff"');
      return c.json(
        {
          error:
            'missing, invalid or expired bearer token (Authorization: Bearer <token>) or dashboard session (POST /api/session)',
        },
        401,
      );
    }
    if (
      session &&
      !SAFE_METHODS.has(c.req.method) &&
      !csrfMatches(c.req.header('x-csrf-token'), session.csrf)
    ) {
      return c.json(
        { error: 'missing or wrong X-CSRF-Token header: GET /api/session returns this session’s token' },
        403,
      );
    }
    const route = handlerRoute(c);
    const permission = permissionFor(route?.method ?? c.req.method, route?.path);
    if (!roleAllows(principal.role, permission)) {
      const needed = ROLE_NEEDED[permission];
      return c.json(
        {
          error: `token ${principal.name} has role ${principal.role}; ${c.req.method} ${route?.path ?? c.req.path} needs role ${needed}${needed === 'admin' ? '' : ' or above'}`,
        },
        403,
      );
    }
    await principals.run(principal, next);
  };
}

function csrfMatches(presented: string | undefined, expected: string): boolean {
  return presented !== undefined && tokenMatches(presented, expected);
}

/** The caller a bearer secret names: the admin token, or an unexpired API token. */
export function identifyBearer(
  presented: string | undefined,
  options: Pick<AuthOptions, 'adminToken' | 'tokens' | 'now'>,
): Principal | undefined {
  if (presented === undefined) return undefined;
  if (tokenMatches(presented, options.adminToken)) return { name: ADMIN_TOKEN_NAME, role: 'admin' };
  const token = options.tokens.authenticate(presented, options.now());
  return token ? { name: token.name, role: token.role } : undefined;
}

/** The route that will answer (the last matched one that is not middleware), if any. */
function handlerRoute(c: Context): { method: string; path: string } | undefined {
  const route = matchedRoutes(c)
    .filter((r) => r.method !== 'ALL')
    .at(-1);
  return route ? { method: route.method, path: route.path } : undefined;
}

export function remoteAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    // Not behind a Node socket (app.request in tests): no address to limit.
    return undefined;
  }
}
