/**
 * A progress line for waits. On a terminal it is one line rewritten in place (carriage return and
 * erase-line), cut to the terminal's width because a wrapped line cannot be rewritten; elsewhere
 * (CI logs, pipes) a new line is printed only when the text changes, so logs stay short.
 */

/** The part of a `tty.WriteStream` used, so tests can pass a recorder. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

const ERASE_LINE = '\r\x1b[2K';

export class ProgressLine {
  readonly #stream: ProgressStream;
  #last: string | undefined;
  #onScreen = false;

  constructor(stream: ProgressStream) {
    this.#stream = stream;
  }

  update(text: string): void {
    if (text === this.#last) return;
    this.#last = text;
    if (!this.#stream.isTTY) {
      this.#stream.write(`${text}\n`);
      return;
    }
    // Some terminals (and pseudo-terminals under `script`) report 0 columns: assume 80.
    const width = (this.#stream.columns || 80) - 1;
    const shown = text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
    this.#stream.write(`${ERASE_LINE}${shown}`);
    this.#onScreen = true;
  }

  /** Erases the line on a terminal, so whatever is printed next starts clean. */
  clear(): void {
    if (this.#onScreen) this.#stream.write(ERASE_LINE);
    this.#onScreen = false;
    this.#last = undefined;
  }
}
