/**
 * What a real Skiff process loads, for the footprint tests: a module preloaded with `--import`
 * records every module the process loads (a load hook sees ESM imports and CommonJS requires
 * alike; a stand-in main.ts puts in for a deferred require is never passed down to it), and Node's
 * own modules (`node-internal:…`), and writes them to SKIFF_LOADS_FILE when the process exits.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Writes the recorder into `dir`; returns its URL, for `--import`. */
export function writeLoadRecorder(dir: string): string {
  const path = join(dir, 'record-loads.mjs');
  writeFileSync(
    path,
    `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.SKIFF_LOADS_FILE, JSON.stringify([...loaded, ...process.moduleLoadList.map((name) => 'node-internal:' + name)])));
`,
  );
  return pathToFileURL(path).href;
}

/** The npm package a loaded URL belongs to, or undefined (ours, or Node's own). */
export const packageOf = (url: string): string | undefined =>
  /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
