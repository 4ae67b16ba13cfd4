/**
 * The Node and V8 options every Skiff process runs with (`bin/node-flags`: why each one is
 * there): `bin/skiff` passes them to Node, the single executable carries them in its SEA config
 * (`execArgv`), and the control-plane benchmark starts its server child with them, so what is
 * measured is what runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const NODE_FLAGS_PATH = join(import.meta.dirname, '../../bin/node-flags');

/**
 * One option per line; `#` starts a comment; blank lines are skipped. A line `COMMAND: OPTION`
 * is for that command only (`agent: --max-semi-space-size=1`); without a command (the single
 * executable's one set) those lines are left out. The file's order is kept, and V8 takes the last
 * of an option given twice, so a command's line after a common one wins (pure).
 */
export function parseNodeFlags(text: string, command?: string): string[] {
  const flags: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').replace(/\s+/g, '');
    if (line === '') continue;
    const scoped = /^([a-z][a-z-]*):(.+)$/.exec(line);
    if (scoped === null) flags.push(line);
    else if (scoped[1] === command && scoped[2] !== undefined) flags.push(scoped[2]);
  }
  return flags;
}

/** The options of `command`'s process (without one: those of every command). */
export function readNodeFlags(command?: string, path = NODE_FLAGS_PATH): string[] {
  return parseNodeFlags(readFileSync(path, 'utf8'), command);
}
