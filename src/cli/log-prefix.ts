/**
 * How `logs` prints one line: `api-server-0 | <line>`. On a terminal each replica's prefix gets a
 * colour (by slot, so a replica keeps its colour across runs) and prefixes are padded to one width
 * so lines align; the width only grows, as a followed stream can meet a wider name after a scale-up.
 */
import type { LogLine } from '../model/views.ts';

/** Cyan, yellow, green, magenta, blue, red: the cycle docker compose uses. */
const COLOURS = ['\x1b[36m', '\x1b[33m', '\x1b[32m', '\x1b[35m', '\x1b[34m', '\x1b[31m'] as const;
const RESET = '\x1b[0m';

export interface LogPrefixOptions {
  readonly colour: boolean;
  readonly pad: boolean;
  /** The widest name expected up front (e.g. the highest slot's), so early lines align too. */
  readonly minWidth?: number;
}

export class LogLineFormatter {
  readonly #options: LogPrefixOptions;
  readonly #colourOf = new Map<string, string>();
  #width: number;

  constructor(options: LogPrefixOptions) {
    this.#options = options;
    this.#width = options.minWidth ?? 0;
  }

  format(log: Pick<LogLine, 'container' | 'line'>): string {
    let name = log.container;
    if (this.#options.pad) {
      this.#width = Math.max(this.#width, name.length);
      name = name.padEnd(this.#width);
    }
    if (!this.#options.colour) return `${name} | ${log.line}`;
    return `${this.#colour(log.container)}${name} |${RESET} ${log.line}`;
  }

  #colour(container: string): string {
    const known = this.#colourOf.get(container);
    if (known !== undefined) return known;
    const slot = /-(\d+)$/.exec(container)?.[1];
    const index = slot === undefined ? this.#colourOf.size : Number(slot);
    const colour = COLOURS[index % COLOURS.length] ?? '';
    this.#colourOf.set(container, colour);
    return colour;
  }
}
