/**
 * Response shapes of the access-control routes: API tokens (never their secret, except once in
 * the answer that created it) and the admission policy.
 */
import { z } from 'zod';
import { roleSchema } from '../auth/roles.ts';

export const tokenViewSchema = z.object({
  name: z.string(),
  role: roleSchema,
  created_at: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
});
export type TokenView = z.infer<typeof tokenViewSchema>;

export const createdTokenViewSchema = tokenViewSchema.extend({
  /** The secret: shown here once, stored only as a hash. */
  token: z.string(),
});

export const createTokenRequestSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be lowercase letters, digits and dashes'),
  role: roleSchema,
  /** Lifetime such as `30d`, `12h` or `90m`; absent means the token does not expire. */
  expires_in: z
    .string()
    .regex(/^\d{1,5}(d|h|m)$/, 'must be a lifetime such as "30d", "12h" or "90m"')
    .optional(),
});

/** A secret or config as the API lists it: never a secret's value. */
export const secretViewSchema = z.object({
  name: z.string(),
  version: z.int(),
  size_bytes: z.int(),
  /** The value's SHA-256 prefix, for configs only. */
  digest: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
