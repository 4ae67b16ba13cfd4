/**
 * `skiff completion bash|zsh|fish` prints a shell's completion script; the hidden
 * `skiff __complete WORD...` answers it, one candidate a line. Names come from the server the
 * words (or the environment) point at; an unreachable server means no names, never an error,
 * since a completion must not print into the user's command line.
 */
import { nodeViewSchema, type ServiceView, serviceViewSchema } from '../model/views.ts';
import { volumeViewSchema } from '../model/volume-view.ts';
import { ApiClient } from './api-client.ts';
import { trustClusterCa } from './cluster-trust.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { complete, type NameKind } from './completion.ts';
import { completionScript, SHELLS, type Shell } from './completion-scripts.ts';
import { type ConnectionFlags, processConnectionSources, resolveConnection } from './connection.ts';
import { UsageError } from './errors.ts';
import { printText } from './output.ts';
import { parseCommandArgs, singlePositional } from './parse-args.ts';
import { commandUsage } from './usage.ts';

/** TAB should feel instant; a server slower than this offers no names. */
const NAMES_TIMEOUT_MS = 2000;

export async function runCompletion(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.completion,
  });
  if (values.help) return printText(commandUsage('completion'));
  const shell = singlePositional(positionals, 'shell (bash, zsh or fish)');
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(`completion: expected bash, zsh or fish, got "${shell}"`);
  }
  printText(completionScript(shell as Shell));
}

export async function runComplete(words: string[]): Promise<void> {
  const candidates = await complete(words, (kind) => namesFromServer(kind, connectionFlagsIn(words)));
  if (candidates.length > 0) process.stdout.write(`${candidates.join('\n')}\n`);
}

/** `--server URL`, `--token T`, `--data-dir D`, `--ca F` (or `--flag=value`) among the words typed. */
export function connectionFlagsIn(words: readonly string[]): ConnectionFlags {
  const flags: Record<string, string> = {};
  for (let index = 0; index < words.length; index += 1) {
    const match = /^--(server|token|data-dir|ca)(?:=(.*))?$/.exec(words[index] ?? '');
    if (!match?.[1]) continue;
    const value = match[2] ?? words[index + 1];
    if (value !== undefined) flags[match[1]] = value;
  }
  return flags;
}

async function namesFromServer(kind: NameKind, flags: ConnectionFlags): Promise<string[]> {
  try {
    const connection = resolveConnection(flags, processConnectionSources());
    if (connection.caPem !== undefined) trustClusterCa(connection.caPem);
    const api = new ApiClient(connection, (url, init) =>
      globalThis.fetch(url, { ...init, signal: AbortSignal.timeout(NAMES_TIMEOUT_MS) }),
    );
    if (kind === 'nodes') return (await api.get('/api/nodes', nodeViewSchema.array())).map((n) => n.name);
    if (kind === 'volumes')
      return [...new Set((await api.get('/api/volumes', volumeViewSchema.array())).map((v) => v.name))];
    const services: ServiceView[] = await api.get('/api/services', serviceViewSchema.array());
    return services.map((s) => s.name);
  } catch {
    return [];
  }
}
