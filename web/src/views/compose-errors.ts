/**
 * The API answers a refused Compose file with `FILE:LINE: key: message` lines (src/api/compose-stack.ts,
 * as the CLI prints them). This sorts them by the line they name, so the editor can show each at
 * its line; what names no line of this file stays general.
 */

export interface LineErrors {
  /** Line (1-based) → its messages, without the `FILE:LINE: ` prefix. */
  readonly byLine: ReadonlyMap<number, readonly string[]>;
  readonly general: readonly string[];
}

const AT_LINE = /^(.+?):(\d+): (.+)$/s;

export function lineErrors(messages: readonly string[], file: string, lineCount: number): LineErrors {
  const byLine = new Map<number, string[]>();
  const general: string[] = [];
  for (const message of new Set(messages)) {
    const match = AT_LINE.exec(message);
    const line = Number(match?.[2]);
    if (!match || match[1] !== file || !Number.isInteger(line) || line < 1 || line > Math.max(1, lineCount)) {
      general.push(message);
      continue;
    }
    const list = byLine.get(line) ?? [];
    list.push(match[3] ?? '');
    byLine.set(line, list);
  }
  return { byLine, general };
}

/** The character offsets of line `line` (1-based) in `text`, to select it. */
export function lineSpan(text: string, line: number): { start: number; end: number } {
  let start = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf('\n', start);
    if (next === -1) return { start: text.length, end: text.length };
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  return { start, end: end === -1 ? text.length : end };
}
