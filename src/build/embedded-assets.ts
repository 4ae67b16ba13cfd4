/**
 * Files the `skiff` binary carries inside itself (the dashboard's `web/dist`), behind one small
 * interface so the static file server need not know where they come from:
 *
 *   const assets = dashboardAssets();          // undefined: no dashboard in this build
 *   const file = assets?.read('index.html');   // Uint8Array | undefined
 *
 * In the single executable they are SEA assets (`node:sea` getAsset), keyed `web/<path>` by
 * build-binary.ts; from a checkout they are read from `web/dist` when it has been built. Paths are
 * relative to the dashboard's root, with `/` separators and no leading slash; anything that would
 * climb out of it (`..`, absolute paths, NUL) reads as absent rather than escaping.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface AssetSource {
  /** Where the files come from, for logs: `embedded` or a directory. */
  readonly origin: string;
  /** The file's bytes, or undefined when there is no such file. */
  read(path: string): Uint8Array | undefined;
  /** Every file's path, sorted. */
  list(): readonly string[];
}

/** The prefix of dashboard files among the binary's SEA assets. */
export const DASHBOARD_ASSET_PREFIX = 'web/';

/** A path the source may serve: relative, `/`-separated, never leaving its root. */
export function normalAssetPath(path: string): string | undefined {
  const trimmed = path.replace(/^\/+/, '');
  if (trimmed === '' || trimmed.includes('\0') || trimmed.includes('\\')) return undefined;
  const parts = trimmed.split('/');
  if (parts.some((part) => part === '..' || part === '.' || part === '')) return undefined;
  return parts.join('/');
}

/** The dashboard's files for this build, or undefined when it has none. */
export function dashboardAssets(): AssetSource | undefined {
  const embedded = seaAssets(DASHBOARD_ASSET_PREFIX);
  if (embedded !== undefined) return embedded.list().length > 0 ? embedded : undefined;
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');
  return existsSync(join(dir, 'index.html')) ? directoryAssets(dir) : undefined;
}

/** SEA assets under `prefix`, when this process is a single executable; else undefined. */
export function seaAssets(prefix: string): AssetSource | undefined {
  const sea = loadSea();
  if (sea === undefined || !sea.isSea()) return undefined;
  const keys = sea
    .getAssetKeys()
    .filter((key) => key.startsWith(prefix))
    .map((key) => key.slice(prefix.length))
    .sort();
  const present = new Set(keys);
  return {
    origin: 'embedded',
    read(path) {
      const normal = normalAssetPath(path);
      if (normal === undefined || !present.has(normal)) return undefined;
      // getRawAsset is a view of the executable's own memory: copy-free, but it must not be written.
      return new Uint8Array(sea.getRawAsset(prefix + normal));
    },
    list: () => keys,
  };
}

/** Files under a directory, read when asked (a checkout's `web/dist`). */
export function directoryAssets(root: string): AssetSource {
  return {
    origin: root,
    read(path) {
      const normal = normalAssetPath(path);
      if (normal === undefined) return undefined;
      const file = join(root, ...normal.split('/'));
      try {
        return statSync(file).isFile() ? new Uint8Array(readFileSync(file)) : undefined;
      } catch {
        return undefined;
      }
    },
    list: () => listFiles(root),
  };
}

/** Every file under `root`, as asset paths, sorted (the build uses it to pick what to embed). */
export function listFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) found.push(relative(root, full).split(sep).join('/'));
    }
  };
  if (existsSync(root)) walk(root);
  return found.sort();
}

interface SeaModule {
  isSea(): boolean;
  getAssetKeys(): string[];
  getRawAsset(key: string): ArrayBuffer;
}

/** `node:sea` is there on Node 24; loaded lazily so nothing pays for it outside the binary. */
function loadSea(): SeaModule | undefined {
  try {
    return process.getBuiltinModule('node:sea') as SeaModule | undefined;
  } catch {
    return undefined;
  }
}
