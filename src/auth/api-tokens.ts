/**
 * API tokens as the store keeps them: a name, a role, times, and the SHA-256 of the secret, never
 * the secret itself (shown once, when it is created). The secret is 192 random bits, so a plain
 * hash suffices: there is nothing to brute-force that a slow hash would protect.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { roleSchema } from './roles.ts';

/** Names like services: lowercase, digits, dashes. `admin` is the admin token's own name. */
export const TOKEN_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const ADMIN_TOKEN_NAME = 'admin';

export const storedTokenSchema = z.object({
  name: z.string(),
  role: roleSchema,
  /** Hex SHA-256 of the secret. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  created_at: z.number(),
  expires_at: z.number().nullable(),
  last_used_at: z.number().nullable(),
});
export type StoredToken = z.infer<typeof storedTokenSchema>;

/** The prefix says what the secret is (scanners find it) and keeps it from starting with "-". */
export function newTokenSecret(): string {
  return `skiff_tok_${randomBytes(24).toString('base64url')}`;
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant time over the digests, so response times say nothing about how close a guess was. */
export function hashMatches(presentedHash: string, storedHash: string): boolean {
  const a = Buffer.from(presentedHash, 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Token lifetimes as users write them: `30d`, `12h`, `90m`. */
export function parseExpiryMs(text: string): number | undefined {
  const match = /^(\d{1,5})(d|h|m)$/.exec(text.trim());
  if (!match?.[1] || !match[2]) return undefined;
  const unitMs = { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2]] ?? 0;
  const ms = Number(match[1]) * unitMs;
  return ms > 0 ? ms : undefined;
}
