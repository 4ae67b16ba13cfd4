/**
 * `skiff context add NAME --server URL[,URL…] [--token-file F] [--ca F]`, `context use NAME`,
 * `context ls`, `context rm NAME`: saved ways to reach a cluster (context-config.ts), like
 * `docker context`. Local only: nothing here talks to a server. `add` reads the token and CA files
 * once and keeps their content; `use default` goes back to no context.
 */
import { homedir } from 'node:os';
import { parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { processConnectionSources } from './connection.ts';
import {
  CONTEXT_NAME_PATTERN,
  type ContextConfig,
  contextConfigPath,
  isHttpUrl,
  parseContextConfig,
  type SavedContext,
  writeContextConfig,
} from './context-config.ts';
import { NO_CONTEXT, splitServerList } from './context-resolve.ts';
import { UsageError } from './errors.ts';
import { printJson, printLines, printText } from './output.ts';
import { formatTable } from './table.ts';
import { commandUsage } from './usage.ts';

export async function runContext(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.context,
  });
  if (values.help) return printText(commandUsage('context'));
  const sources = processConnectionSources();
  const path = contextConfigPath(sources.env, homedir());
  const config = parseContextConfig(sources.readTextFile(path), path);
  const [action, name, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`context ${action}: unexpected ${rest.join(' ')}`);
  const named = (verb: string): string => {
    if (name === undefined) throw new UsageError(`context ${verb}: NAME is required`);
    return name;
  };

  if (action === 'ls' || action === undefined) {
    if (name !== undefined) throw new UsageError(`context ls: unexpected ${name}`);
    const current = sources.env.SKIFF_CONTEXT?.trim() || config.current;
    const rows = Object.entries(config.contexts).sort(([a], [b]) => (a < b ? -1 : 1));
    if (values.json) {
      return printJson(
        rows.map(([n, c]) => ({
          name: n,
          current: n === current,
          servers: c.servers,
          token: c.token !== undefined,
          ca: c.ca_pem !== undefined,
        })),
      );
    }
    return printLines(
      formatTable(
        ['NAME', 'SERVERS', 'TOKEN', 'CA'],
        rows.map(([n, c]) => [
          `${n}${n === current ? ' *' : ''}`,
          c.servers.join(','),
          c.token === undefined ? '-' : 'saved',
          c.ca_pem === undefined ? 'system' : 'saved',
        ]),
      ),
    );
  }
  if (action === 'add') {
    const contextName = checkName(named('add'));
    if (contextName === NO_CONTEXT)
      throw new UsageError(`context add: "${NO_CONTEXT}" means no context; pick another name`);
    if (values.server === undefined) throw new UsageError('context add: --server URL[,URL…] is required');
    const servers = splitServerList(values.server);
    if (servers.length === 0) throw new UsageError('context add: --server names no server');
    for (const url of servers)
      if (!isHttpUrl(url)) throw new UsageError(`--server must be an http(s) URL, got "${url}"`);
    const context: SavedContext = { servers };
    if (values['token-file'] !== undefined) {
      const token = sources.readTextFile(values['token-file'])?.trim();
      if (!token) throw new UsageError(`--token-file: cannot read a token from ${values['token-file']}`);
      context.token = token;
    }
    if (values.ca !== undefined) {
      const ca = sources.readTextFile(values.ca);
      if (!ca?.includes('-----BEGIN CERTIFICATE-----'))
        throw new UsageError(`--ca: ${values.ca} holds no PEM certificate`);
      context.ca_pem = ca;
    }
    const replaced = config.contexts[contextName] !== undefined;
    const next: ContextConfig = { ...config, contexts: { ...config.contexts, [contextName]: context } };
    // The first context saved becomes the current one, as there was none to keep.
    if (next.current === undefined) next.current = contextName;
    writeContextConfig(path, next);
    return printLines([
      `${replaced ? 'replaced' : 'added'} context ${contextName}${next.current === contextName ? ' (current)' : ''} in ${path}`,
    ]);
  }
  if (action === 'use') {
    const contextName = named('use');
    if (contextName === NO_CONTEXT) {
      const { current: _, ...rest } = config;
      writeContextConfig(path, rest);
      return printLines(['using no context (flags, SKIFF_* variables and ~/.skiff)']);
    }
    if (config.contexts[contextName] === undefined)
      throw new UsageError(`context use: no context named ${contextName}`);
    writeContextConfig(path, { ...config, current: contextName });
    return printLines([`using context ${contextName}`]);
  }
  if (action === 'rm') {
    const contextName = named('rm');
    if (config.contexts[contextName] === undefined)
      throw new UsageError(`context rm: no context named ${contextName}`);
    const { [contextName]: _, ...contexts } = config.contexts;
    const next: ContextConfig = { ...config, contexts };
    if (next.current === contextName) delete next.current;
    writeContextConfig(path, next);
    return printLines([`removed context ${contextName}`]);
  }
  throw new UsageError(`context: unknown action "${action}" (add, use, ls or rm)`);
}

function checkName(name: string): string {
  if (!CONTEXT_NAME_PATTERN.test(name))
    throw new UsageError(
      `context name ${name}: letters, digits, ".", "_" and "-", at most 63, starting with a letter or digit`,
    );
  return name;
}
