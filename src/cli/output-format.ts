/**
 * `-o table|wide|json|yaml|name` and `-q` on every read command, as kubectl users expect. A
 * command hands over a view of what it read (the API's data, and how it reads as a table, a wide
 * table and names); the format picks one. `json` and `yaml` print the API's data as it came, so
 * `-o yaml` parsed back equals `-o json`; `name` prints one name a line (what `-q` prints), for
 * `xargs`. `--json` stays as an alias of `-o json`. Pure but for `printView`. The yaml package
 * is loaded only for `-o yaml` (`prepareOutput`), so the other formats do not pay for it at start.
 */
import { UsageError } from './errors.ts';
import { stdoutWantsColour } from './output.ts';

type Stringify = (value: unknown, options: { lineWidth: number }) => string;
let yamlStringify: Stringify | undefined;

/** Loads what `format` needs; renderView and renderStreamItem may then be called for it. */
export async function prepareOutput(format: OutputFormat): Promise<void> {
  if (format === 'yaml' && yamlStringify === undefined) yamlStringify = (await import('yaml')).stringify;
}

function toYaml(value: unknown): string {
  if (yamlStringify === undefined)
    throw new Error('prepareOutput("yaml") was not awaited before rendering YAML');
  return yamlStringify(value, { lineWidth: 0 });
}

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The flags, spread into a read command's COMMAND_OPTIONS entry. */
export const outputOptions = {
  output: { type: 'string', short: 'o' },
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
} as const;

export interface OutputFlags {
  readonly output?: string | undefined;
  readonly quiet?: boolean | undefined;
  readonly json?: boolean | undefined;
}

export interface View {
  /** What json and yaml print: the API's answer, unchanged. */
  readonly data: unknown;
  /** The lines people read (`-o table`, the default). */
  table(): readonly string[];
  /** More columns (`-o wide`); the table when there are none to add. */
  wide?(): readonly string[];
  /** One name a line (`-o name`, `-q`); a view without names refuses those formats. */
  names?(): readonly string[];
}

/** The format the flags ask for; contradictions are usage errors rather than a silent pick. */
export function outputFormatFrom(flags: OutputFlags): OutputFormat {
  const asked: OutputFormat[] = [];
  if (flags.output !== undefined) {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(flags.output)) {
      throw new UsageError(`-o/--output: expected one of ${OUTPUT_FORMATS.join('|')}, got "${flags.output}"`);
    }
    asked.push(flags.output as OutputFormat);
  }
  if (flags.json) asked.push('json');
  if (flags.quiet) asked.push('name');
  const distinct = [...new Set(asked)];
  if (distinct.length > 1) {
    throw new UsageError(`conflicting output flags: ${describe(flags)} (give one of -o FORMAT, --json, -q)`);
  }
  return distinct[0] ?? 'table';
}

function describe(flags: OutputFlags): string {
  return [
    flags.output !== undefined ? `-o ${flags.output}` : undefined,
    flags.json ? '--json' : undefined,
    flags.quiet ? '-q' : undefined,
  ]
    .filter((flag) => flag !== undefined)
    .join(', ');
}

const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';
const STATUS_COLOURS: readonly (readonly [RegExp, string])[] = [
  [/\b(running|healthy|ready|active|succeeded)\b/g, GREEN],
  [/\b(pending|starting|pulling|stopping|degraded|draining|cordoned|in_progress|assigned)\b/g, YELLOW],
  [/\b(failed|unhealthy|down|unreachable|backoff|exited|rolled_back|refused)\b/g, RED],
];

/**
 * Table lines with their status words coloured (green serving, yellow on the way, red failed),
 * the header left plain. Codes are added after alignment, so columns stay aligned on a terminal.
 */
export function paintStatusWords(lines: readonly string[]): string[] {
  return lines.map((line, index) => {
    if (index === 0) return line;
    let painted = line;
    for (const [words, colour] of STATUS_COLOURS) painted = painted.replace(words, `${colour}$1${RESET}`);
    return painted;
  });
}

/** The whole output for one view, ending in a newline unless it is empty; colour for tables only when asked. */
export function renderView(
  format: OutputFormat,
  view: View,
  { colour = false }: { colour?: boolean } = {},
): string {
  const paint = (list: readonly string[]) => (colour ? paintStatusWords(list) : list);
  switch (format) {
    case 'json':
      return `${JSON.stringify(view.data, null, 2)}\n`;
    case 'yaml':
      return toYaml(view.data);
    case 'name': {
      if (view.names === undefined)
        throw new UsageError('this command has no names to print: -o table|wide|json|yaml');
      return lines(view.names());
    }
    case 'wide':
      return lines(paint(view.wide?.() ?? view.table()));
    case 'table':
      return lines(paint(view.table()));
  }
}

/** One item of a followed stream: a compact JSON line, a YAML document, or the item's line. */
export function renderStreamItem(format: OutputFormat, item: unknown, line: () => string): string {
  if (format === 'json') return `${JSON.stringify(item)}\n`;
  if (format === 'yaml') return `---\n${toYaml(item)}`;
  if (format === 'name') throw new UsageError('a followed stream has no names to print: -o table|json|yaml');
  return `${line()}\n`;
}

export async function printView(flags: OutputFlags, view: View): Promise<void> {
  const format = outputFormatFrom(flags);
  await prepareOutput(format);
  process.stdout.write(renderView(format, view, { colour: stdoutWantsColour() }));
}

function lines(list: readonly string[]): string {
  return list.length === 0 ? '' : `${list.join('\n')}\n`;
}
