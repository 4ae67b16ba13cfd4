/**
 * Files only the owner may read: keys, tokens, the store. Written mode 0600 and chmod-ed after,
 * because `mode` applies only when a file is created and a file may already exist with 0644.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Writes via a temporary file and a rename, so a crash never leaves half a key. */
export function writePrivateFile(path: string, text: string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

export function readTextIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Makes `dir` (and parents) and sets it to 0700 whatever it was. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Sets an existing file (the store and its WAL) to 0600; absent files are left absent. */
export function restrictFile(path: string): void {
  if (existsSync(path)) chmodSync(path, 0o600);
}
