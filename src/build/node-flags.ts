/**
 * The Node and V8 options every Skiff process runs with (`bin/node-flags`: why each one is
 * there): `bin/skiff` passes them to Node, the single executable carries them in its SEA config
 * (`execArgv`), and the control-plane benchmark starts its server child with them, so what is
 * measured is what runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const NODE_FLAGS_PATH = join(import.meta.dirname, '../../bin/node-flags');

/** One option per line; `#` starts a comment; blank lines are skipped (pure). */
export function parseNodeFlags(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

export function readNodeFlags(path = NODE_FLAGS_PATH): string[] {
  return parseNodeFlags(readFileSync(path, 'utf8'));
}
