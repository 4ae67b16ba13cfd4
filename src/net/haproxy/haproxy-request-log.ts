/**
 * HAProxy's per-request log as the agent reads it: each worker writes one line per answered
 * request into a ring of its own (`ring skiff_requests`, `haproxy-config.ts`), which forwards the
 * lines over a unix stream socket in the agent's HAProxy directory, newline-terminated
 * (`log-proto legacy`, `format raw`). A line is `LOG_FORMAT`: the frontend's name (the route's
 * `haproxyName`), the status HAProxy sent (`-1` when none: the client went away first) and the
 * request's active time in ms (`%Ta`: from its first byte to the answer's last, keep-alive idle
 * time excluded, as the built-in proxy measures). Pure: lines in, requests out.
 */

/** The `log-format` of every route's frontend; `parseRequestLine` reads it back. */
export const LOG_FORMAT = '%f %ST %Ta';

export interface LoggedRequest {
  /** The frontend's name (`haproxyName` of the route key). */
  readonly name: string;
  /** The status sent to the client; undefined when none was (HAProxy's -1). */
  readonly status: number | undefined;
  readonly seconds: number;
}

/** One log line → the request, or undefined for a line that is not one (never thrown on). */
export function parseRequestLine(line: string): LoggedRequest | undefined {
  // From the right: the two numbers are last, whatever a name may hold.
  const timeAt = line.lastIndexOf(' ');
  const statusAt = timeAt <= 0 ? -1 : line.lastIndexOf(' ', timeAt - 1);
  if (statusAt <= 0) return undefined;
  const status = Number(line.slice(statusAt + 1, timeAt));
  const ms = Number(line.slice(timeAt + 1));
  if (!Number.isInteger(status) || !Number.isFinite(ms) || ms < 0 || line.slice(timeAt + 1) === '')
    return undefined;
  return {
    name: line.slice(0, statusAt),
    status: status >= 100 && status <= 999 ? status : undefined,
    seconds: ms / 1000,
  };
}

/**
 * Cuts a byte stream into lines: a chunk may end inside a line, whose start waits for the next
 * chunk. A line longer than `maxLineBytes` (not one of ours) is dropped whole, so a stream without
 * newlines cannot grow the buffer without bound.
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  #partial = '';
  #skipping = false;

  constructor(maxLineBytes = 4096) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** The complete lines `chunk` ends, in order. */
  push(chunk: string): string[] {
    const lines = chunk.split('\n');
    // The last piece has no newline after it yet.
    const rest = lines.pop() ?? '';
    const out: string[] = [];
    for (const [index, piece] of lines.entries()) {
      const line = index === 0 ? this.#partial + piece : piece;
      if (index === 0 && this.#skipping) this.#skipping = false;
      else if (line.length <= this.#maxLineBytes) out.push(line);
    }
    if (lines.length > 0) this.#partial = '';
    this.#partial += rest;
    if (this.#partial.length > this.#maxLineBytes) {
      this.#partial = '';
      this.#skipping = true;
    }
    return out;
  }
}
