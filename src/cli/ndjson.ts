/**
 * Newline-delimited JSON as the API streams it (logs, followed events): bytes arrive in arbitrary
 * chunks, so lines are reassembled before parsing, and blank lines (keep-alives) are skipped.
 */

export async function* readLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  // One decoder across chunks, so a multi-byte character split between chunks survives.
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line.trim() !== '') yield line;
      newline = buffer.indexOf('\n');
    }
  }
  buffer += decoder.decode();
  if (buffer.trim() !== '') yield buffer;
}

/** JSON.parse that reports failure as undefined, for callers that validate the result anyway. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
