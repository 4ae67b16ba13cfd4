/**
 * Secrets and configs in the store, sealed with the cluster key (AES-256-GCM): an index of names,
 * versions and times under one meta key, each value sealed under its own. The plain value leaves
 * only through `value()`, which the controller calls to send it to a node that runs a replica
 * using it; configs may also be read back through the API, secrets never.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SecretKind } from '../model/secret-ref.ts';
import type { Store } from '../store/store.ts';
import { open, seal } from './sealed-box.ts';

/** Swarm's limit too: files for replicas, not blobs. */
export const MAX_SECRET_BYTES = 500 * 1024;

const entrySchema = z.object({
  name: z.string(),
  version: z.int(),
  /** First 12 hex digits of the value's SHA-256 for configs (they are readable anyway), null for secrets. */
  digest: z.string().nullable(),
  size_bytes: z.int(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type SecretEntry = z.infer<typeof entrySchema>;

export interface PutResult {
  readonly entry: SecretEntry;
  readonly created: boolean;
  /** False when the value was the same as stored: nothing to roll. */
  readonly changed: boolean;
}

export class SecretStore {
  readonly #store: Store;
  readonly #key: Buffer;

  constructor(store: Store, key: Buffer) {
    this.#store = store;
    this.#key = key;
  }

  list(kind: SecretKind): SecretEntry[] {
    return this.#index(kind);
  }

  get(kind: SecretKind, name: string): SecretEntry | undefined {
    return this.#index(kind).find((e) => e.name === name);
  }

  put(kind: SecretKind, name: string, value: Buffer, now: number): PutResult {
    return this.#store.transaction(() => {
      const index = this.#index(kind);
      const existing = index.find((e) => e.name === name);
      if (existing && this.value(kind, name)?.equals(value))
        return { entry: existing, created: false, changed: false };
      const entry: SecretEntry = {
        name,
        version: (existing?.version ?? 0) + 1,
        digest: kind === 'config' ? createHash('sha256').update(value).digest('hex').slice(0, 12) : null,
        size_bytes: value.length,
        created_at: existing?.created_at ?? now,
        updated_at: now,
      };
      this.#store.setMeta(this.#valueKey(kind, name), seal(this.#key, value, `${kind}:${name}`));
      this.#writeIndex(
        kind,
        [...index.filter((e) => e.name !== name), entry].sort((a, b) => (a.name < b.name ? -1 : 1)),
      );
      return { entry, created: existing === undefined, changed: true };
    });
  }

  /** The plain value, for delivery to a node (or a config's reader). */
  value(kind: SecretKind, name: string): Buffer | undefined {
    const sealed = this.#store.getMeta(this.#valueKey(kind, name));
    return sealed === undefined || sealed === '' ? undefined : open(this.#key, sealed, `${kind}:${name}`);
  }

  remove(kind: SecretKind, name: string): boolean {
    return this.#store.transaction(() => {
      const index = this.#index(kind);
      if (!index.some((e) => e.name === name)) return false;
      this.#writeIndex(
        kind,
        index.filter((e) => e.name !== name),
      );
      // Overwritten rather than left: the meta table has no delete, and an empty value opens to nothing.
      this.#store.setMeta(this.#valueKey(kind, name), '');
      return true;
    });
  }

  #index(kind: SecretKind): SecretEntry[] {
    const text = this.#store.getMeta(`${kind}s_index`);
    return text === undefined || text === '' ? [] : entrySchema.array().parse(JSON.parse(text));
  }

  #writeIndex(kind: SecretKind, entries: readonly SecretEntry[]): void {
    this.#store.setMeta(`${kind}s_index`, JSON.stringify(entries));
  }

  #valueKey(kind: SecretKind, name: string): string {
    return `${kind}_value:${name}`;
  }
}
