/**
 * Where the server is and how to authenticate to it. Each setting is taken from the first place
 * that has it: a flag, then an environment variable, then the saved context in use
 * (context-resolve.ts), then a default (for the token, the `admin.token` file `skiff up` writes
 * into its data dir, so the same machine needs no setup). A data dir named by `--data-dir` or
 * SKIFF_DATA_DIR counts as a flag: its token and CA beat the context's.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { contextConfigPath, parseContextConfig } from './context-config.ts';
import { chooseContext, splitServerList } from './context-resolve.ts';
import { UsageError } from './errors.ts';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8080';

export interface ConnectionFlags {
  readonly server?: string | undefined;
  readonly token?: string | undefined;
  readonly 'data-dir'?: string | undefined;
  readonly ca?: string | undefined;
  readonly context?: string | undefined;
}

export interface Connection {
  /** Without a trailing slash, so paths can be appended. The first of `serverUrls`. */
  readonly serverUrl: string;
  /** Every server to try, in order (one cluster's servers): the next is tried when one cannot be reached. */
  readonly serverUrls: readonly string[];
  /** The saved context in use, if any (named in hints). */
  readonly context: string | undefined;
  readonly token: string | undefined;
  /** The token file consulted, named in the hint when the server rejects an absent token. */
  readonly tokenFile: string;
  /** The cluster CA bundle (PEM) https is verified against, when one was found. */
  readonly caPem: string | undefined;
}

/** What resolution reads from the outside world, passed in so tests need no real environment. */
export interface ConnectionSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homeDir: string;
  /** The file's text, or undefined when it cannot be read. */
  readTextFile(path: string): string | undefined;
}

export function resolveConnection(flags: ConnectionFlags, sources: ConnectionSources): Connection {
  const configPath = contextConfigPath(sources.env, sources.homeDir);
  const chosen = chooseContext(
    flags.context,
    sources.env,
    parseContextConfig(sources.readTextFile(configPath), configPath),
  );
  const saved = chosen?.context;

  const serverFlag = nonEmpty(flags.server);
  const serverEnv = nonEmpty(sources.env.SKIFF_SERVER);
  const serverUrls =
    serverFlag !== undefined
      ? splitServerList(serverFlag)
      : serverEnv !== undefined
        ? splitServerList(serverEnv)
        : (saved?.servers.map((url) => url.replace(/\/+$/, '')) ?? [DEFAULT_SERVER_URL]);
  const serverSource = serverFlag !== undefined ? '--server' : 'SKIFF_SERVER';
  for (const url of serverUrls)
    if (!isHttpUrl(url)) throw new UsageError(`${serverSource} must be an http(s) URL, got "${url}"`);
  const [serverUrl] = serverUrls;
  if (serverUrl === undefined) throw new UsageError(`${serverSource} names no server`);

  const dataDirGiven = nonEmpty(flags['data-dir']) ?? nonEmpty(sources.env.SKIFF_DATA_DIR);
  const dataDir = dataDirGiven ?? join(sources.homeDir, '.skiff');
  const tokenFile = join(dataDir, 'admin.token');
  const fromDataDir = (given: boolean) =>
    given ? nonEmpty(sources.readTextFile(tokenFile)?.trim()) : undefined;
  const token =
    nonEmpty(flags.token) ??
    nonEmpty(sources.env.SKIFF_TOKEN) ??
    fromDataDir(dataDirGiven !== undefined) ??
    saved?.token ??
    fromDataDir(saved === undefined);
  // The cluster CA: --ca, SKIFF_CA, a named data dir's ca.crt, the context's, the default data dir's.
  const caFlag = nonEmpty(flags.ca) ?? nonEmpty(sources.env.SKIFF_CA);
  const dirCa = () => sources.readTextFile(join(dataDir, 'ca.crt'));
  let caPem: string | undefined;
  if (caFlag !== undefined) {
    caPem = sources.readTextFile(caFlag);
    if (caPem === undefined) throw new UsageError(`--ca: cannot read ${caFlag}`);
  } else
    caPem =
      (dataDirGiven !== undefined ? dirCa() : undefined) ?? saved?.ca_pem ?? (saved ? undefined : dirCa());
  return { serverUrl, serverUrls, context: chosen?.name, token, tokenFile, caPem };
}

export function processConnectionSources(): ConnectionSources {
  return {
    env: process.env,
    homeDir: homedir(),
    readTextFile(path) {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        // Absent or unreadable alike: the request goes without a token and the server says 401.
        return undefined;
      }
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function isHttpUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:');
}
