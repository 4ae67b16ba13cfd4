/**
 * What TAB offers, computed by `skiff __complete WORD...` (the shell scripts of
 * completion-scripts.ts only pass the words along): commands, each command's actions and flags
 * from the command table (usage.ts, command-options.ts: the single source), and service, node
 * and volume names, which the caller fetches from the server when asked for them. Pure: the names arrive as
 * a function the decision calls only when it needs them.
 */
import { COMMAND_OPTIONS } from './command-options.ts';
import { OUTPUT_FORMATS } from './output-format.ts';
import { COMMANDS, type CommandName, isCommandName } from './usage.ts';

/** What a word can be filled from; `names` are the server's. */
export type NameKind = 'services' | 'nodes' | 'volumes';
export type NameSource = (kind: NameKind) => Promise<readonly string[]>;

type Slot = NameKind | readonly string[] | 'actions';

/** What each positional argument of a command is, in order; past the end, nothing (files, by the shell). */
const POSITIONALS: Partial<Record<CommandName, readonly Slot[]>> = {
  ps: ['services'],
  logs: ['services'],
  rm: ['services'],
  scale: ['services'],
  rollout: ['actions', 'services'],
  node: ['actions', 'nodes'],
  volume: ['actions', 'volumes'],
  token: ['actions'],
  ca: ['actions'],
  policy: ['actions', 'services'],
  secret: ['actions'],
  config: ['actions'],
  registry: ['actions'],
  stack: ['actions'],
  image: ['actions'],
  completion: [['bash', 'zsh', 'fish']],
  install: [['server', 'agent']],
  uninstall: [['server', 'agent']],
};

/** Values of flags that have a known set; the others are left to the shell (files) or free. */
const FLAG_VALUES: Record<string, Slot> = {
  service: 'services',
  to: 'nodes',
  node: 'nodes',
  output: OUTPUT_FORMATS,
  'log-format': ['json', 'text'],
  'log-level': ['debug', 'info', 'warn', 'error'],
  role: ['viewer', 'operator', 'admin'],
};

/** A command's actions (`rollout status|history|undo`), read from its help's Actions section. */
export function actionsOf(command: CommandName): string[] {
  const help = COMMANDS[command] as { readonly actions?: string };
  const words = (help.actions ?? '').split('\n').map((line) => /^ {2}(\S+)/.exec(line)?.[1]);
  return [...new Set(words.filter((word): word is string => word !== undefined && /^[a-z]/.test(word)))];
}

interface FlagConfig {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
}

function flagsOf(command: CommandName): Record<string, FlagConfig> {
  return COMMAND_OPTIONS[command] as Record<string, FlagConfig>;
}

/** The flag a word names (`--tail`, `-f`), or undefined; `--x=value` carries its value itself. */
function flagNamed(command: CommandName, word: string): [string, FlagConfig] | undefined {
  const flags = flagsOf(command);
  if (word.startsWith('--') && !word.includes('=')) {
    const name = word.slice(2);
    const config = flags[name];
    return config ? [name, config] : undefined;
  }
  if (/^-[a-zA-Z]$/.test(word))
    return Object.entries(flags).find(([, config]) => config.short === word.slice(1));
  return undefined;
}

/**
 * Candidates for the last word of `words` (the words after `skiff`, the last one being the word
 * under the cursor, possibly empty), filtered by what it starts with.
 */
export async function complete(words: readonly string[], names: NameSource): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const matching = (candidates: readonly string[]) => candidates.filter((c) => c.startsWith(current));
  const commands = Object.keys(COMMANDS);
  if (before.length === 0) return matching([...commands, 'help']);
  const [command, ...args] = before;
  if (command === 'help') return before.length === 1 ? matching(commands) : [];
  if (command === undefined || !isCommandName(command)) return [];

  const previous = args.at(-1);
  const valueFor = previous === undefined ? undefined : flagNamed(command, previous);
  if (valueFor !== undefined && valueFor[1].type === 'string') {
    const slot = FLAG_VALUES[valueFor[0]];
    return slot === undefined ? [] : matching(await fill(slot, command, names));
  }
  if (current.startsWith('-')) {
    const flags = Object.entries(flagsOf(command)).flatMap(([name, config]) =>
      config.short ? [`--${name}`, `-${config.short}`] : [`--${name}`],
    );
    return matching(flags.sort());
  }
  const slot = POSITIONALS[command]?.[positionalCount(command, args)];
  return slot === undefined ? [] : matching(await fill(slot, command, names));
}

/** How many positional arguments `args` holds: flags and their values do not count. */
function positionalCount(command: CommandName, args: readonly string[]): number {
  let count = 0;
  for (let index = 0; index < args.length; index += 1) {
    const word = args[index] ?? '';
    const flag = flagNamed(command, word);
    if (flag !== undefined) {
      if (flag[1].type === 'string') index += 1;
      continue;
    }
    if (!word.startsWith('-')) count += 1;
  }
  return count;
}

async function fill(slot: Slot, command: CommandName, names: NameSource): Promise<string[]> {
  if (slot === 'actions') return actionsOf(command);
  if (slot === 'services' || slot === 'nodes' || slot === 'volumes') return [...(await names(slot))].sort();
  return [...slot];
}
