/**
 * The daemons' config file (`/etc/skiff/server.yaml`, `/etc/skiff/agent.yaml`, or `--config
 * FILE`): a YAML mapping of the command's own flags by long name. It is turned into command-line
 * arguments placed before the real ones, and parseArgs keeps the last value of a flag, so flags
 * given on the command line win. Lists and mappings read naturally for the flags that take them
 * (`labels: {zone: eu-1}`, `san: [a, b]`). Unknown keys and wrong types are errors naming the
 * file and the key, never ignored: a misspelt setting would otherwise silently not apply. The
 * YAML parser (72 modules) is imported only when there is a file to read: most agents have none.
 */
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from './errors.ts';

/** The config file of a daemon, unless `--config` names another. */
export const DEFAULT_CONFIG_FILES = {
  server: '/etc/skiff/server.yaml',
  agent: '/etc/skiff/agent.yaml',
} as const;

/** A usage error (exit 2): the file is part of the command line. */
export class ConfigFileError extends UsageError {}

interface FlagConfig {
  readonly type: 'string' | 'boolean';
}

/** Flags a file may not set: they are about this command line, not the daemon. */
const NOT_IN_FILE = new Set(['help', 'config']);

/** The file's settings as arguments (`--port=8080`, `--cleanup`), in the file's order. */
export async function configFileArgs(
  text: string,
  file: string,
  flags: Readonly<Record<string, FlagConfig>>,
): Promise<string[]> {
  const { parse } = await import('yaml');
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new ConfigFileError(`${file}: not YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (document === null || document === undefined) return [];
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigFileError(`${file}: expected a mapping of flag names to values`);
  }
  const args: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    const flag = flags[key];
    if (flag === undefined || NOT_IN_FILE.has(key)) {
      const known = Object.keys(flags).filter((name) => !NOT_IN_FILE.has(name));
      throw new ConfigFileError(
        `${file}: unknown setting "${key}" (settings are the flags: ${known.join(', ')})`,
      );
    }
    if (value === null) continue;
    if (flag.type === 'boolean') {
      if (typeof value !== 'boolean') throw new ConfigFileError(`${file}: ${key}: expected true or false`);
      if (value) args.push(`--${key}`);
      continue;
    }
    args.push(`--${key}=${stringValue(value, `${file}: ${key}`)}`);
  }
  return args;
}

function stringValue(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string' || typeof item === 'number')) {
    return value.join(',');
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const pairs = Object.entries(value);
    if (pairs.every(([, item]) => typeof item === 'string' || typeof item === 'number')) {
      return pairs.map(([key, item]) => `${key}=${item}`).join(',');
    }
  }
  throw new ConfigFileError(`${where}: expected a string or number (or a list or mapping of them)`);
}

/**
 * `argv` with the config file's settings in front: the file `--config FILE` names (which must
 * exist), else the daemon's default file when there is one. `--config` itself is taken out.
 */
export async function withConfigFile(
  argv: readonly string[],
  defaultFile: string | undefined,
  flags: Readonly<Record<string, FlagConfig>>,
  read: (path: string) => string | undefined = readIfExists,
): Promise<string[]> {
  const rest: string[] = [];
  let named: string | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const word = argv[index] ?? '';
    if (word === '--') {
      rest.push(...argv.slice(index));
      break;
    }
    if (word === '--config') {
      named = argv[index + 1];
      if (named === undefined) throw new UsageError("Option '--config <value>' argument missing");
      index += 1;
    } else if (word.startsWith('--config=')) {
      named = word.slice('--config='.length);
    } else {
      rest.push(word);
    }
  }
  const file = named ?? defaultFile;
  if (file === undefined) return rest;
  const text = read(file);
  if (text === undefined) {
    if (named !== undefined) throw new ConfigFileError(`--config ${named}: no such file`);
    return rest;
  }
  return [...(await configFileArgs(text, file, flags)), ...rest];
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
