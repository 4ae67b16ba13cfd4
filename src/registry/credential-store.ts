/**
 * Registry credentials in the store, sealed with the cluster key like secrets (AES-256-GCM, the
 * registry's host as additional data): an index of hosts and usernames under one meta key, each
 * credential sealed under its own. A credential leaves the server only inside a task for the node
 * that pulls from that registry (`apply-pass.ts`); the API never shows a password.
 */
import { z } from 'zod';
import { open, seal } from '../secrets/sealed-box.ts';
import type { Store } from '../store/store.ts';
import type { RegistryCredential } from './registry-auth.ts';
import { registryCredentialSchema } from './registry-auth.ts';

const entrySchema = z.object({
  registry: z.string(),
  username: z.string(),
  created_at: z.number(),
  updated_at: z.number(),
});
export type RegistryEntry = z.infer<typeof entrySchema>;

/** A registry host as references name it: `host[:port]`, no scheme, no path. */
export const REGISTRY_HOST_PATTERN =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

const INDEX_KEY = 'registry_credentials_index';

export class RegistryCredentialStore {
  readonly #store: Store;
  readonly #key: Buffer;

  constructor(store: Store, key: Buffer) {
    this.#store = store;
    this.#key = key;
  }

  list(): RegistryEntry[] {
    const text = this.#store.getMeta(INDEX_KEY);
    return text === undefined || text === '' ? [] : entrySchema.array().parse(JSON.parse(text));
  }

  /** Stores (or replaces) the credential for `registry`; `changed` false when it was the same. */
  put(
    registry: string,
    credential: RegistryCredential,
    now: number,
  ): { entry: RegistryEntry; changed: boolean } {
    return this.#store.transaction(() => {
      const index = this.list();
      const existing = index.find((e) => e.registry === registry);
      const before = this.credential(registry);
      if (existing && before?.username === credential.username && before.password === credential.password)
        return { entry: existing, changed: false };
      const entry: RegistryEntry = {
        registry,
        username: credential.username,
        created_at: existing?.created_at ?? now,
        updated_at: now,
      };
      this.#store.setMeta(
        valueKey(registry),
        seal(this.#key, Buffer.from(JSON.stringify(credential)), `registry:${registry}`),
      );
      this.#writeIndex(
        [...index.filter((e) => e.registry !== registry), entry].sort((a, b) =>
          a.registry < b.registry ? -1 : 1,
        ),
      );
      return { entry, changed: true };
    });
  }

  /** The plain credential, for a pull or a digest resolution; undefined when none is stored. */
  credential(registry: string): RegistryCredential | undefined {
    const sealed = this.#store.getMeta(valueKey(registry));
    if (sealed === undefined || sealed === '') return undefined;
    return registryCredentialSchema.parse(
      JSON.parse(open(this.#key, sealed, `registry:${registry}`).toString('utf8')),
    );
  }

  remove(registry: string): boolean {
    return this.#store.transaction(() => {
      const index = this.list();
      if (!index.some((e) => e.registry === registry)) return false;
      this.#writeIndex(index.filter((e) => e.registry !== registry));
      // Overwritten rather than left: the meta table has no delete, and an empty value opens to nothing.
      this.#store.setMeta(valueKey(registry), '');
      return true;
    });
  }

  #writeIndex(entries: readonly RegistryEntry[]): void {
    this.#store.setMeta(INDEX_KEY, JSON.stringify(entries));
  }
}

function valueKey(registry: string): string {
  return `registry_credential:${registry}`;
}
