/**
 * The API tokens of the cluster, kept in the store's meta table as one JSON list (tens of tokens,
 * not thousands): create, list, remove, and authenticate a presented secret. `last_used_at` is
 * written at most once a minute per token, so reads through the API do not each cost a write.
 */
import type { Store } from '../store/store.ts';
import type { StoredToken } from './api-tokens.ts';
import { hashMatches, hashToken, newTokenSecret, storedTokenSchema } from './api-tokens.ts';
import type { Role } from './roles.ts';

const META_KEY = 'api_tokens';
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export class TokenExistsError extends Error {
  override readonly name = 'TokenExistsError';
  constructor(name: string) {
    super(`a token named ${name} already exists: remove it first (skiff token rm ${name})`);
  }
}

export interface CreatedToken {
  readonly token: StoredToken;
  /** The secret, returned this once and never stored. */
  readonly secret: string;
}

export class TokenRegistry {
  readonly #store: Store;
  /** Last use seen in memory, ahead of what was written. */
  readonly #lastUsed = new Map<string, number>();

  constructor(store: Store) {
    this.#store = store;
  }

  list(): StoredToken[] {
    return this.#read().map((t) => ({ ...t, last_used_at: this.#lastUsed.get(t.name) ?? t.last_used_at }));
  }

  create(name: string, role: Role, expiresAt: number | null, now: number): CreatedToken {
    const secret = newTokenSecret();
    const token: StoredToken = {
      name,
      role,
      hash: hashToken(secret),
      created_at: now,
      expires_at: expiresAt,
      last_used_at: null,
    };
    this.#store.transaction(() => {
      const tokens = this.#read();
      if (tokens.some((t) => t.name === name)) throw new TokenExistsError(name);
      this.#write([...tokens, token]);
    });
    return { token, secret };
  }

  /** True when a token of that name existed. */
  remove(name: string): boolean {
    return this.#store.transaction(() => {
      const tokens = this.#read();
      const rest = tokens.filter((t) => t.name !== name);
      if (rest.length === tokens.length) return false;
      this.#write(rest);
      this.#lastUsed.delete(name);
      return true;
    });
  }

  /** The unexpired token the secret belongs to. Every stored hash is compared, match or not. */
  authenticate(secret: string, now: number): StoredToken | undefined {
    const presented = hashToken(secret);
    let found: StoredToken | undefined;
    for (const token of this.#read()) if (hashMatches(presented, token.hash)) found = token;
    if (!found || (found.expires_at !== null && found.expires_at <= now)) return undefined;
    this.#lastUsed.set(found.name, now);
    if (now - (found.last_used_at ?? 0) >= LAST_USED_WRITE_INTERVAL_MS) this.#touch(found.name, now);
    return found;
  }

  #touch(name: string, now: number): void {
    this.#store.transaction(() => {
      this.#write(this.#read().map((t) => (t.name === name ? { ...t, last_used_at: now } : t)));
    });
  }

  #read(): StoredToken[] {
    const text = this.#store.getMeta(META_KEY);
    if (text === undefined) return [];
    return storedTokenSchema.array().parse(JSON.parse(text));
  }

  #write(tokens: readonly StoredToken[]): void {
    this.#store.setMeta(META_KEY, JSON.stringify(tokens));
  }
}
