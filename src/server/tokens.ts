/**
 * The server's two secrets: the admin token (API clients) and the join token (agents), created
 * on first start as mode-0600 files in the data directory. SKIFF_TOKEN presets the admin token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Tokens {
  readonly admin: string;
  readonly join: string;
  readonly adminPath: string;
  readonly joinPath: string;
}

export function ensureTokens(dataDir: string, presetAdmin: string | undefined): Tokens {
  const adminPath = join(dataDir, 'admin.token');
  const joinPath = join(dataDir, 'join.token');
  const admin =
    presetAdmin && presetAdmin.length > 0
      ? writeToken(adminPath, presetAdmin)
      : readOrCreate(adminPath, 'admin');
  return { admin, join: readOrCreate(joinPath, 'join'), adminPath, joinPath };
}

function readOrCreate(path: string, kind: 'admin' | 'join'): string {
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const token = readFileSync(path, 'utf8').trim();
    if (token.length > 0) return token;
  }
  // The prefix says what the secret is (and lets scanners find it); it also keeps a token from
  // starting with "-", which a command line would read as an option.
  return writeToken(path, `skiff_${kind}_${randomBytes(24).toString('base64url')}`);
}

function writeToken(path: string, token: string): string {
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return token;
}

/** Compares in constant time, so the token cannot be guessed byte by byte from response times. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}
