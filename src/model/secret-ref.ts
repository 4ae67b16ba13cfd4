/**
 * How a service refers to a secret or a config: by name, with the file's path in the container
 * (`/run/secrets/NAME` or `/NAME` by default) and mode. `version` is filled in by the server at
 * deploy (and bumped when the value changes, which makes a new revision and rolls the service);
 * what a client sends there is ignored.
 */
import { z } from 'zod';

export const SECRET_NAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$/;

export const secretRefSchema = z.strictObject({
  name: z.string().regex(SECRET_NAME_PATTERN, 'must be letters, digits, ".", "_" or "-", at most 64'),
  /** An absolute path in the container, or a file name under the default directory. */
  target: z
    .string()
    .max(256)
    .regex(/^[A-Za-z0-9_./-]+$/, 'must be a path of letters, digits, ".", "_", "-" and "/"')
    .refine((t) => !t.split('/').includes('..'), { message: 'must not contain ".."' })
    .optional(),
  /** File mode, octal as a number (0o400 = 256) or a string ("0400"). */
  mode: z
    .union([
      z.int().min(0).max(0o777),
      z
        .string()
        .regex(/^0?[0-7]{3}$/)
        .transform((s) => Number.parseInt(s, 8)),
    ])
    .optional(),
  version: z.int().min(0).optional(),
});
export type SecretRef = z.output<typeof secretRefSchema>;

export type SecretKind = 'secret' | 'config';

/** Where the file appears in the container. */
export function secretTarget(kind: SecretKind, ref: SecretRef): string {
  const base = kind === 'secret' ? '/run/secrets' : '';
  if (ref.target === undefined) return `${base}/${ref.name}`;
  return ref.target.startsWith('/') ? ref.target : `${base}/${ref.target}`;
}

export function secretMode(kind: SecretKind, ref: SecretRef): number {
  return ref.mode ?? (kind === 'secret' ? 0o400 : 0o444);
}
