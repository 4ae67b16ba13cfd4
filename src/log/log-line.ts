/**
 * The daemons' log lines as records: the existing plain-text lines (`dns: listening on …`,
 * `error: …`) carry their component and severity in their wording, which this reads back so
 * every line gets a level and a component without rewriting each call site; and the text form a
 * record prints as. Pure.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ClassifiedLine {
  readonly level: LogLevel;
  /** The component the line names by its prefix, else the logger's own. */
  readonly component: string | undefined;
  readonly msg: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** `prefix: ` at the start of a line, as components write them. */
const COMPONENT_PREFIXES: readonly (readonly [RegExp, string])[] = [
  [/^dns: /, 'dns'],
  [/^data plane: /, 'data-plane'],
  [/^converge: /, 'converge'],
  [/^proxy: /, 'proxy'],
  [/^secrets?: /, 'secrets'],
];

/** Words that make a line a warning: something was refused, dropped or could not be done. */
const WARNING =
  /\b(refused|refusing|cannot|failed|failing|dropped|closing agent|bad message|unreachable|overlaps)\b/i;

export function classifyLine(message: string): ClassifiedLine {
  let msg = message;
  let level: LogLevel = 'info';
  if (/^error: /.test(msg)) {
    level = 'error';
    msg = msg.slice('error: '.length);
  } else if (WARNING.test(msg)) {
    level = 'warn';
  }
  let component: string | undefined;
  for (const [prefix, name] of COMPONENT_PREFIXES) {
    if (prefix.test(msg)) {
      component = name;
      msg = msg.replace(prefix, '');
      break;
    }
  }
  // The gateway names the agent first (`agent n1: …`): that is a field, not text.
  const fields: Record<string, string> = {};
  const agent = /^agent ([a-z0-9][a-z0-9-]*|\(unregistered\)): /.exec(msg);
  if (agent?.[1]) {
    fields.node = agent[1];
    msg = msg.slice(agent[0].length);
  }
  return { level, component, msg, fields };
}

/** How a record reads with `--log-format text`: `TIME LEVEL component: message key=value …`. */
export function formatTextRecord(record: Readonly<Record<string, unknown>>): string {
  const { time, level, component, msg, ...fields } = record;
  const extra = Object.entries(fields)
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`,
    )
    .join(' ');
  const head = `${String(time ?? '')} ${String(level ?? 'info')
    .toUpperCase()
    .padEnd(5)} ${component ? `${String(component)}: ` : ''}`;
  return `${head}${String(msg ?? '')}${extra ? ` ${extra}` : ''}\n`;
}

export function parseLogLevel(text: string): LogLevel | undefined {
  return (LOG_LEVELS as readonly string[]).includes(text) ? (text as LogLevel) : undefined;
}

export function parseLogFormat(text: string): LogFormat | undefined {
  return (LOG_FORMATS as readonly string[]).includes(text) ? (text as LogFormat) : undefined;
}
