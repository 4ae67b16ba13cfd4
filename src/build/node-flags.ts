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

/**
 * Each command's options beyond every command's (`COMMAND:` lines), for the single executable:
 * its `execArgv` is every command's, and a command with options of its own re-execs itself with
 * them as `--node-options=…` (command-node-flags.ts), which Node puts after `execArgv`. So that the
 * re-exec'd process has exactly `parseNodeFlags(text, command)`, a command's lines must come after
 * every common line; a file where they do not is refused (pure).
 */
export function commandOwnFlags(text: string): Record<string, string[]> {
  const common = parseNodeFlags(text);
  const own: Record<string, string[]> = {};
  const commands = new Set<string>();
  for (const raw of text.split('\n')) {
    const scoped = /^([a-z][a-z-]*):/.exec(raw.replace(/#.*/, '').replace(/\s+/g, ''));
    if (scoped?.[1] !== undefined) commands.add(scoped[1]);
  }
  for (const command of commands) {
    const flags = parseNodeFlags(text, command);
    if (common.some((flag, i) => flags[i] !== flag)) {
      throw new Error(`node flags: the \`${command}:\` lines must come after every common line`);
    }
    own[command] = flags.slice(common.length);
  }
  return own;
}

export function readCommandOwnFlags(path = NODE_FLAGS_PATH): Record<string, string[]> {
  return commandOwnFlags(readFileSync(path, 'utf8'));
}
