/**
 * Splits the Engine API's multiplexed log stream (8-byte frame headers: stream type, then a
 * big-endian length) into timestamped lines. Frames and lines may straddle chunks.
 */
import type { LogEntry } from './container-engine.ts';

export class LogFrameDecoder {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  /** Feeds bytes; returns the complete lines they finish. */
  push(chunk: Buffer): LogEntry[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const entries: LogEntry[] = [];
    while (this.#buffer.length >= 8) {
      const size = this.#buffer.readUInt32BE(4);
      if (this.#buffer.length < 8 + size) break;
      const stream = this.#buffer[0] === 2 ? 'stderr' : 'stdout';
      const text = this.#partial[stream] + this.#buffer.subarray(8, 8 + size).toString('utf8');
      this.#buffer = this.#buffer.subarray(8 + size);
      const lines = text.split('\n');
      this.#partial[stream] = lines.pop() ?? '';
      for (const line of lines) entries.push(toEntry(stream, line));
    }
    return entries;
  }

  /** Lines left without a trailing newline when the stream ends. */
  flush(): LogEntry[] {
    const entries: LogEntry[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream] !== '') entries.push(toEntry(stream, this.#partial[stream]));
      this.#partial[stream] = '';
    }
    return entries;
  }
}

/** With `timestamps=true` each line starts with an RFC 3339 timestamp and a space. */
function toEntry(stream: 'stdout' | 'stderr', line: string): LogEntry {
  const space = line.indexOf(' ');
  const at = space > 0 ? line.slice(0, space) : '';
  const text = space > 0 ? line.slice(space + 1) : line;
  return { at, stream, text: text.endsWith('\r') ? text.slice(0, -1) : text };
}
