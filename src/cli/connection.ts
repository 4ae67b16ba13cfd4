/**
 * Where the server is and how to authenticate to it. Each setting is taken from the first place
 * that has it: a flag, then an environment variable, then a default (for the token, the
 * `admin.token` file `skiff up` writes into its data dir, so the same machine needs no setup).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors.ts';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8080';

export interface ConnectionFlags {
  readonly server?: string | undefined;
  readonly token?: string | undefined;
  readonly 'data-dir'?: string | undefined;
  readonly ca?: string | undefined;
}

export interface Connection {
  /** Without a trailing slash, so paths can be appended. */
  readonly serverUrl: string;
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
  const serverFlag = nonEmpty(flags.server);
  const serverUrl = serverFlag ?? nonEmpty(sources.env.SKIFF_SERVER) ?? DEFAULT_SERVER_URL;
  const serverSource = serverFlag !== undefined ? '--server' : 'SKIFF_SERVER';
  if (!isHttpUrl(serverUrl))
    throw new UsageError(`${serverSource} must be an http(s) URL, got "${serverUrl}"`);

  const dataDir =
    nonEmpty(flags['data-dir']) ?? nonEmpty(sources.env.SKIFF_DATA_DIR) ?? join(sources.homeDir, '.skiff');
  const tokenFile = join(dataDir, 'admin.token');
  const token =
    nonEmpty(flags.token) ??
    nonEmpty(sources.env.SKIFF_TOKEN) ??
    nonEmpty(sources.readTextFile(tokenFile)?.trim());
  // The cluster CA: --ca, SKIFF_CA, or the data dir's ca.crt (on the server's own host).
  const caFlag = nonEmpty(flags.ca) ?? nonEmpty(sources.env.SKIFF_CA);
  const caPem = sources.readTextFile(caFlag ?? join(dataDir, 'ca.crt'));
  if (caFlag !== undefined && caPem === undefined) throw new UsageError(`--ca: cannot read ${caFlag}`);
  return { serverUrl: serverUrl.replace(/\/+$/, ''), token, tokenFile, caPem };
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
