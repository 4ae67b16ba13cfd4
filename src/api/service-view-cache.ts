/**
 * Each service's view (views.ts `serviceView`) as JSON text, made again only when the service's
 * record or one of its tasks' records changed: the store replaces records, never mutates them
 * (store/same-records.ts), so a view made of the same records is the same text. A page of 100 services holds
 * some 5,000 replicas; at 1,000 nodes under churn (100 replicas a second) most of a page's
 * services are unchanged since the last request, and serialising them again was most of what
 * `GET /api/services` cost (and the unpaged list, several MB at 10,000 replicas, all of it).
 * Bounded by the services there are: those no longer listed are forgotten.
 */
import { sameRecords } from '../store/same-records.ts';
import type { StoredService, StoredTask } from '../store/store.ts';
import { serviceView } from './views.ts';

interface Entry {
  readonly service: StoredService;
  readonly tasks: readonly StoredTask[];
  readonly text: string;
}

export class ServiceViewCache {
  readonly #entries = new Map<string, Entry>();

  /** `serviceView(service, tasks)` as `JSON.stringify` writes it. */
  text(service: StoredService, tasks: readonly StoredTask[]): string {
    const name = service.spec.name;
    const known = this.#entries.get(name);
    if (known && known.service === service && sameRecords(known.tasks, tasks)) return known.text;
    const text = JSON.stringify(serviceView(service, tasks));
    this.#entries.set(name, { service, tasks, text });
    return text;
  }

  /** Forgets the services not in `names` (once more are kept than `names` holds). */
  retain(names: ReadonlySet<string>): void {
    if (this.#entries.size <= names.size) return;
    for (const name of this.#entries.keys()) if (!names.has(name)) this.#entries.delete(name);
  }

  get size(): number {
    return this.#entries.size;
  }
}
