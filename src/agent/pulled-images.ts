/**
 * Which images Skiff's agent pulled, kept in its data dir (`pulled-images.json`): a pulled image
 * cannot carry a label, and only images in this record are ever garbage-collected, so a locally
 * built image, one pulled by hand, or one another cluster's agent pulled on a shared engine (its
 * own data dir, its own record) is never touched. Each entry is an image id with the references
 * the agent pulled it as, when, and when it was last seen in use (what "oldest unused" orders by).
 * The id is taken at pull time: a tag moved since (a local build over a pulled tag) names another
 * image, which is not in the record.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MAX_IMAGE_REFERENCE_CHARS } from '../model/image-reference.ts';

export const PULLED_IMAGES_FILE = 'pulled-images.json';
/** Far above what an engine holds; the oldest entries go first past it. */
const MAX_ENTRIES = 10_000;

const entrySchema = z.object({
  id: z.string().min(1).max(256),
  references: z.array(z.string().min(1).max(MAX_IMAGE_REFERENCE_CHARS)).max(64),
  pulled_at: z.number().min(0),
  last_used_at: z.number().min(0).nullable(),
});
export type PulledImage = z.infer<typeof entrySchema>;

const fileSchema = z.object({ version: z.literal(1), images: z.array(entrySchema) });

/** The record, read once and written whole (temporary file and rename) on every change. */
export class PulledImages {
  readonly #path: string;
  readonly #dir: string;
  readonly #entries = new Map<string, PulledImage>();

  constructor(dir: string, log: (message: string) => void) {
    this.#dir = dir;
    this.#path = join(dir, PULLED_IMAGES_FILE);
    let text: string | undefined;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch {
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      // Kept aside, not trusted: without a record nothing is collected, which is the safe side.
      const aside = `${this.#path}.unreadable-${Date.now()}`;
      try {
        renameSync(this.#path, aside);
      } catch {}
      log(
        `${this.#path} is not a record of pulled images; moved it to ${aside}: no image is collected until the agent pulls again`,
      );
      return;
    }
    for (const entry of parsed.data.images) this.#entries.set(entry.id, entry);
  }

  entries(): PulledImage[] {
    return [...this.#entries.values()];
  }

  get(id: string): PulledImage | undefined {
    return this.#entries.get(id);
  }

  /** The agent pulled `reference`, which is image `id` now. */
  recordPull(reference: string, id: string, now: number): void {
    const previous = this.#entries.get(id);
    const references = previous?.references.includes(reference)
      ? previous.references
      : [...(previous?.references ?? []), reference].slice(-64);
    this.#entries.delete(id);
    this.#entries.set(id, { id, references, pulled_at: now, last_used_at: previous?.last_used_at ?? null });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= MAX_ENTRIES) break;
      this.#entries.delete(oldest);
    }
    this.#save();
  }

  /**
   * Applies what a collection pass learned: ids the engine no longer has are forgotten, and the
   * given last-use times set. Written only when something changed.
   */
  update(present: ReadonlySet<string>, lastUsed: ReadonlyMap<string, number>): void {
    let changed = false;
    for (const [id, entry] of this.#entries) {
      if (!present.has(id)) {
        this.#entries.delete(id);
        changed = true;
        continue;
      }
      const used = lastUsed.get(id);
      if (used !== undefined && used !== entry.last_used_at) {
        this.#entries.set(id, { ...entry, last_used_at: used });
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  #save(): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    writeFileSync(`${this.#path}.tmp`, JSON.stringify({ version: 1, images: this.entries() }), {
      mode: 0o600,
    });
    renameSync(`${this.#path}.tmp`, this.#path);
  }
}
