/**
 * What a raw-mode terminal sends, as `skiff top`'s keys: arrows and page keys as their names,
 * Tab, Shift-Tab, Enter, Backspace, Escape, Ctrl-C, and any other character as itself. One read
 * may hold several keys (a paste, a fast typist); an escape sequence this does not know is
 * dropped whole rather than read as Escape and letters.
 */
import type { Key } from './top-state.ts';
import { KEYS } from './top-state.ts';

const SEQUENCES: Record<string, Key> = {
  '\u001b[A': KEYS.up,
  '\u001bOA': KEYS.up,
  '\u001b[B': KEYS.down,
  '\u001bOB': KEYS.down,
  '\u001b[Z': KEYS.backTab,
  '\u001b[5~': KEYS.pageUp,
  '\u001b[6~': KEYS.pageDown,
};

export function decodeKeys(chunk: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < chunk.length) {
    const ch = chunk[i] ?? '';
    if (ch === '\u001b') {
      const rest = chunk.slice(i);
      const known = Object.keys(SEQUENCES).find((s) => rest.startsWith(s));
      if (known) {
        keys.push(SEQUENCES[known] ?? KEYS.escape);
        i += known.length;
        continue;
      }
      // CSI/SS3 sequences we do not use (other arrows, function keys): skip to their final byte.
      const unknown = /^(\[[0-9;?]*[ -/]*[@-~]|O.)/.exec(rest.slice(1));
      if (unknown) {
        i += 1 + unknown[0].length;
        continue;
      }
      keys.push(KEYS.escape);
      i += 1;
      continue;
    }
    i += 1;
    if (ch === '\t') keys.push(KEYS.tab);
    else if (ch === '\r' || ch === '\n') keys.push(KEYS.enter);
    else if (ch === '\u007f' || ch === '\b') keys.push(KEYS.backspace);
    else if (ch === '\u0003') keys.push(KEYS.interrupt);
    else if (ch >= ' ') keys.push(ch);
  }
  return keys;
}
