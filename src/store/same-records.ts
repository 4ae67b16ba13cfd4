/**
 * Whether two lists hold the very same records, in the same order. Both stores replace a record
 * when it changes and never mutate one (sqlite-store.ts, etcd/etcd-tables.ts), so the same objects
 * mean the same contents, told without reading them: what a pass or a cached view was made of
 * is still what the store holds.
 */
export function sameRecords<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((record, i) => record === b[i]);
}
