/**
 * Saved contexts: named ways to reach a cluster from this machine (its servers, an API token, the
 * cluster CA), like `docker context` or a kubeconfig, kept in `$XDG_CONFIG_HOME/skiff/config`
 * (`~/.config/skiff/config`), JSON, the file 0600 in a 0700 directory since it holds tokens. The
 * token and CA are copied in at `skiff context add`, so a context keeps working when the files it
 * was made from move. The schema and the path are pure; reading and writing are the edge.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/** A context name: what `docker context` allows, short enough for a table. */
export const CONTEXT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const savedContextSchema = z.object({
  /** One URL, or several servers of one cluster, tried in order. */
  servers: z.array(z.string().max(2048).refine(isHttpUrl, 'must be an http(s) URL')).min(1).max(16),
  token: z.string().min(1).max(4096).optional(),
  /** The cluster CA bundle (PEM) the servers are verified against. */
  ca_pem: z.string().min(1).max(65_536).optional(),
});
export type SavedContext = z.infer<typeof savedContextSchema>;

export const contextConfigSchema = z.object({
  current: z.string().regex(CONTEXT_NAME_PATTERN).optional(),
  contexts: z.record(z.string().regex(CONTEXT_NAME_PATTERN), savedContextSchema).default({}),
});
export type ContextConfig = z.infer<typeof contextConfigSchema>;

export const EMPTY_CONFIG: ContextConfig = { contexts: {} };

/** A config file that is there but cannot be used: said once, with the path, never ignored. */
export class ContextConfigError extends Error {
  override readonly name = 'ContextConfigError';
}

/** `$XDG_CONFIG_HOME/skiff/config`, or `~/.config/skiff/config` (XDG's default) without it. */
export function contextConfigPath(
  env: Readonly<Record<string, string | undefined>>,
  homeDir: string,
): string {
  const base = env.XDG_CONFIG_HOME?.trim();
  // The XDG spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const configHome = base?.startsWith('/') ? base : join(homeDir, '.config');
  return join(configHome, 'skiff', 'config');
}

/** The config in `text` (the file's content, undefined when there is none). */
export function parseContextConfig(text: string | undefined, path: string): ContextConfig {
  if (text === undefined || text.trim() === '') return EMPTY_CONFIG;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ContextConfigError(`${path} is not JSON (${(error as Error).message}): fix or remove it`);
  }
  const parsed = contextConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ContextConfigError(
      `${path}: ${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'}; fix or remove it`,
    );
  }
  return parsed.data;
}

/** Writes the config whole (temp file + rename), the file 0600 and its directory 0700. */
export function writeContextConfig(path: string, config: ContextConfig): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

export function isHttpUrl(text: string): boolean {
  const url = URL.parse(text);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}
