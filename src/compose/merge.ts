/**
 * Several Compose files (`-c base.yml -c override.yml`) merged in order, by the Compose
 * Specification's rules: mappings merge key by key; `command`, `entrypoint` and a healthcheck's
 * `test` are replaced whole; `environment` and `labels` merge by variable name whichever syntax
 * each file used; `ports`, `volumes`, `secrets` and `configs` merge by what they are for (target
 * or source); other sequences are appended without repeats. Pure.
 */
import type { ComposeFile, KeyPath } from './compose-file.ts';

/** Sequences replaced whole by a later file, by the key that holds them (under a service). */
const REPLACED = new Set(['command', 'entrypoint', 'test']);
/** Lists that are really maps (`KEY=VALUE` items or a mapping): merged by key. */
const KEYED = new Set(['environment', 'labels', 'extra_hosts', 'sysctls']);

export interface MergedCompose {
  readonly value: Record<string, unknown>;
  /** For each key path, the file and line that last set it. */
  readonly origins: ReadonlyMap<KeyPath, { file: string; line: number }>;
}

export function mergeComposeFiles(files: readonly ComposeFile[]): MergedCompose {
  let value: Record<string, unknown> = {};
  const origins = new Map<KeyPath, { file: string; line: number }>();
  for (const file of files) {
    value = mergeValue(value, file.value, []) as Record<string, unknown>;
    for (const [path, line] of file.lines) origins.set(path, { file: file.file, line });
  }
  return { value, origins };
}

function mergeValue(base: unknown, override: unknown, path: readonly string[]): unknown {
  const key = path.at(-1) ?? '';
  if (override === undefined) return base;
  if (base === undefined || base === null) return override;
  if (KEYED.has(key) && path.length === 3 && path[0] === 'services')
    return { ...asKeyed(base), ...asKeyed(override) };
  if (REPLACED.has(key)) return override;
  if (Array.isArray(base) && Array.isArray(override)) return mergeSequence(key, base, override);
  if (isPlainObject(base) && isPlainObject(override)) {
    const out: Record<string, unknown> = { ...base };
    for (const [name, item] of Object.entries(override))
      out[name] = mergeValue(base[name], item, [...path, name]);
    return out;
  }
  return override;
}

function mergeSequence(key: string, base: readonly unknown[], override: readonly unknown[]): unknown[] {
  const identity = IDENTITIES[key];
  if (identity) {
    const byId = new Map<string, unknown>();
    for (const item of [...base, ...override]) byId.set(identity(item), item);
    return [...byId.values()];
  }
  const seen = new Set(base.map((item) => JSON.stringify(item)));
  return [...base, ...override.filter((item) => !seen.has(JSON.stringify(item)))];
}

/** What makes two items the same entry, so a later file's replaces an earlier file's. */
const IDENTITIES: Record<string, (item: unknown) => string> = {
  ports: (item) => {
    if (isPlainObject(item)) return `${item.published ?? ''}:${item.target}/${item.protocol ?? 'tcp'}`;
    const text = String(item);
    const [spec = text, protocol = 'tcp'] = text.split('/');
    const parts = spec.split(':');
    // Without a published port, each entry is its own (two "8080" entries are one).
    return `${parts.length > 1 ? parts.slice(0, -1).join(':') : ''}:${parts.at(-1)}/${protocol}`;
  },
  volumes: (item) =>
    isPlainObject(item) ? String(item.target) : (String(item).split(':')[1] ?? String(item)),
  secrets: (item) => (isPlainObject(item) ? String(item.source) : String(item)),
  configs: (item) => (isPlainObject(item) ? String(item.source) : String(item)),
};

/** `["A=1", "B"]` or `{A: 1, B: null}` as one mapping; `B` alone means "from the environment". */
export function asKeyed(value: unknown): Record<string, unknown> {
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const item of value) {
      const text = String(item);
      const at = text.indexOf('=');
      if (at === -1) out[text] = null;
      else out[text.slice(0, at)] = text.slice(at + 1);
    }
    return out;
  }
  return isPlainObject(value) ? { ...value } : {};
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
