/**
 * Sessions of the dashboard: made from a token (`POST /api/session`), recognised from their cookie
 * on every request, ended by sign-out. A session is only as good as its token: each request looks
 * the token up again, so removing or expiring the token ends its sessions at once. Sign-outs are
 * kept (until the session would have expired) in the store's meta table, which every server of an
 * HA control plane shares, so a signed-out cookie is refused by all of them.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ADMIN_TOKEN_NAME, hashToken } from '../auth/api-tokens.ts';
import type { Principal } from '../auth/authenticate.ts';
import type { TokenRegistry } from '../auth/token-registry.ts';
import type { Store } from '../store/store.ts';
import type { SessionPayload } from './session-cookie.ts';
import {
  csrfTokenOf,
  decodeSession,
  encodeSession,
  SESSION_LIFETIME_MS,
  tokenFingerprint,
} from './session-cookie.ts';

const REVOKED_META_KEY = 'dashboard_session_revocations';
/** Sign-outs remembered at most; past it the oldest go (their sessions end within 12 h anyway). */
const MAX_REVOKED = 10_000;

const revokedSchema = z.array(z.object({ sid: z.string(), exp: z.number() }));

export interface Session {
  readonly principal: Principal;
  readonly payload: SessionPayload;
  /** What state-changing requests of this session send as `X-CSRF-Token`. */
  readonly csrf: string;
}

export interface SessionAuthorityOptions {
  readonly key: Buffer;
  readonly store: Store;
  readonly tokens: TokenRegistry;
  readonly adminToken: string;
  readonly lifetimeMs?: number;
}

export class SessionAuthority {
  readonly #options: SessionAuthorityOptions;

  constructor(options: SessionAuthorityOptions) {
    this.#options = options;
  }

  /** A new signed cookie value for the caller of `principal`, whose token hashes to `tokenHash`. */
  create(
    principal: Principal,
    token: { readonly hash: string; readonly expiresAt: number | null },
    now: number,
  ): { readonly cookie: string; readonly session: Session } {
    const lifetime = this.#options.lifetimeMs ?? SESSION_LIFETIME_MS;
    const exp = Math.min(now + lifetime, token.expiresAt ?? Number.MAX_SAFE_INTEGER);
    const payload: SessionPayload = {
      v: 1,
      sid: randomBytes(18).toString('base64url'),
      name: principal.name,
      fp: tokenFingerprint(this.#options.key, token.hash),
      iat: now,
      exp,
    };
    return {
      cookie: encodeSession(this.#options.key, payload),
      session: { principal, payload, csrf: csrfTokenOf(this.#options.key, payload.sid) },
    };
  }

  /** The session a cookie value stands for, if it is signed, unexpired, not signed out and its token lives. */
  identify(cookie: string, now: number): Session | undefined {
    const decoded = decodeSession(this.#options.key, cookie, now);
    if (!decoded.ok) return undefined;
    const { payload } = decoded;
    const principal = this.#tokenOf(payload, now);
    if (!principal) return undefined;
    if (this.#revoked().some((r) => r.sid === payload.sid)) return undefined;
    return { principal, payload, csrf: csrfTokenOf(this.#options.key, payload.sid) };
  }

  /** Signs a session out for every server: its id is kept until it would have expired. */
  revoke(payload: SessionPayload, now: number): void {
    const { store } = this.#options;
    store.transaction(() => {
      const kept = this.#revoked().filter((r) => r.exp > now && r.sid !== payload.sid);
      kept.push({ sid: payload.sid, exp: payload.exp });
      store.setMeta(REVOKED_META_KEY, JSON.stringify(kept.slice(-MAX_REVOKED)));
    });
  }

  /** The decoded payload of a signed cookie (expired or not yet), for sign-out. */
  payloadOf(cookie: string, now: number): SessionPayload | undefined {
    const decoded = decodeSession(this.#options.key, cookie, now);
    return decoded.ok ? decoded.payload : undefined;
  }

  #tokenOf(payload: SessionPayload, now: number): Principal | undefined {
    const { key, tokens, adminToken } = this.#options;
    if (payload.name === ADMIN_TOKEN_NAME) {
      return payload.fp === tokenFingerprint(key, hashToken(adminToken))
        ? { name: ADMIN_TOKEN_NAME, role: 'admin' }
        : undefined;
    }
    const token = tokens.list().find((t) => t.name === payload.name);
    if (!token || (token.expires_at !== null && token.expires_at <= now)) return undefined;
    if (payload.fp !== tokenFingerprint(key, token.hash)) return undefined;
    return { name: token.name, role: token.role };
  }

  #revoked(): z.infer<typeof revokedSchema> {
    const text = this.#options.store.getMeta(REVOKED_META_KEY);
    if (text === undefined) return [];
    const parsed = revokedSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  }
}
