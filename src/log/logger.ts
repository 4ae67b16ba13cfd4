/**
 * Structured logs for the daemons, with pino: one JSON object a line (`time` RFC 3339, `level`
 * as a word, `component`, `msg`, and fields) for journald and log shippers with
 * `--log-format json`, or the same records as text lines (log-line.ts) for people. Both go to
 * stderr, synchronously, so the last lines before a crash are not lost. No pino transports:
 * they run in worker threads loaded from files, which a single executable does not have.
 */
import pino, { type Logger } from 'pino';
import { classifyLine, formatTextRecord, type LogFormat, type LogLevel } from './log-line.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly format: LogFormat;
  readonly level: LogLevel;
  /** Where lines go; stderr by default. */
  readonly write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const destination =
    options.format === 'json'
      ? { write }
      : { write: (line: string) => write(formatTextRecord(JSON.parse(line) as Record<string, unknown>)) };
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * The `(message) => void` the server and agent take, writing through `logger` as `component`:
 * each line's level, component and fields come from its wording (classifyLine).
 */
export function lineLogger(logger: Logger, component: string): (message: string) => void {
  const children = new Map<string, Logger>();
  const child = (name: string) => {
    let found = children.get(name);
    if (found === undefined) {
      found = logger.child({ component: name });
      children.set(name, found);
    }
    return found;
  };
  return (message) => {
    const line = classifyLine(message);
    child(line.component ?? component)[line.level](line.fields, line.msg);
  };
}
