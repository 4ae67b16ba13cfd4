/**
 * The dashboard's session cookie, as a value: what it says (which token, a fingerprint of that
 * token's hash, when it was made and ends, a random id), signed with HMAC-SHA256 under a key
 * derived from the cluster key, so every server of an HA control plane accepts a cookie any of
 * them made. Pure: keys, `now` and ids come in. The CSRF token of a session is derived from its
 * id under the same key, so it needs no storage either.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const SESSION_COOKIE = 'skiff_session';
/** A session ends after this long even if its token does not (or when its token does, if sooner). */
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

const payloadSchema = z.strictObject({
  v: z.literal(1),
  /** A random id: what a sign-out revokes and what the CSRF token is derived from. */
  sid: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  /** The token's name (`admin` for the admin token). */
  name: z.string().min(1).max(64),
  /** Binds the session to that token's secret: a token removed and made again under the same name does not revive it. */
  fp: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  iat: z.int().nonnegative(),
  exp: z.int().nonnegative(),
});
export type SessionPayload = z.infer<typeof payloadSchema>;

/** 32 bytes for signing sessions, derived from (never equal to) the 32-byte cluster key. */
export function deriveSessionKey(clusterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', clusterKey, Buffer.alloc(0), 'skiff dashboard session v1', 32));
}

function mac(key: Buffer, purpose: string, text: string): Buffer {
  return createHmac('sha256', key).update(`${purpose}\u0000${text}`).digest();
}

/** What a session stores of its token: a keyed digest of the token's SHA-256 (hex), 128 bits. */
export function tokenFingerprint(key: Buffer, tokenHashHex: string): string {
  return mac(key, 'token', tokenHashHex).subarray(0, 16).toString('base64url');
}

export function csrfTokenOf(key: Buffer, sid: string): string {
  return mac(key, 'csrf', sid).toString('base64url');
}

export function encodeSession(key: Buffer, payload: SessionPayload): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(key, 'session', body).toString('base64url')}`;
}

export type DecodedSession =
  | { readonly ok: true; readonly payload: SessionPayload }
  | { readonly ok: false; readonly reason: 'malformed' | 'bad signature' | 'expired' };

/** The payload of a cookie this cluster signed and that has not expired. */
export function decodeSession(key: Buffer, value: string, now: number): DecodedSession {
  const [body, signature, ...rest] = value.split('.');
  if (body === undefined || signature === undefined || rest.length > 0 || value.length > 1024)
    return { ok: false, reason: 'malformed' };
  const expected = mac(key, 'session', body);
  const presented = Buffer.from(signature, 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected))
    return { ok: false, reason: 'bad signature' };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'malformed' };
  if (parsed.data.exp <= now) return { ok: false, reason: 'expired' };
  return { ok: true, payload: parsed.data };
}

/** Constant-time comparison of two text tokens (the CSRF header against the session's). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
