/**
 * The single executable's code caches: one per set of Node options a Skiff process runs with
 * (the SEA's `execArgv`, and each command with options of its own, which re-execs itself with
 * them: command-node-flags.ts). V8 hashes `--max-opt`, `--optimize-for-size` and
 * `--heap-growing-percent` into a code cache and rejects one made under other flags, and Node's
 * own SEA code cache is made under the build's flags alone: the agent's re-exec'd image could not
 * use it, compiled the bundle lazily, and Node printed `Warning: Code cache data rejected.` at
 * every agent start (journald's line read like a fault). Node 24 has no option to not offer the
 * blob's cache to one run, and `--disable-warning=Warning` would hide every generic warning. So
 * the SEA's main is a small loader (sea-main.ts) without a code cache, and the bundle and one
 * cache per option set are assets: the loader compiles the bundle with the cache made under the
 * options it runs with, and says nothing if V8 rejects it (pure).
 */
import type { NodeFlagsTable } from './command-node-flags.ts';

/** The bundle's asset (its source: the SEA's main is the loader). */
export const BUNDLE_ASSET = 'skiff:bundle.cjs';

/** The common options' code cache: every command but those with options of their own. */
export const COMMON_FLAGS = 'common';

export function codeCacheAsset(flagSet: string): string {
  return `skiff:code-cache:${flagSet}`;
}

/**
 * Node's CommonJS wrapper: the loader compiles the bundle as Node compiles a SEA's main (a
 * function of exports, require, module, __filename, __dirname), and the build makes each cache
 * from the same text (V8 checks the source's length).
 */
export function wrapCommonJs(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
}

/** Each option set the build makes a cache under: its name and the full options (pure). */
export function codeCacheFlagSets(table: NodeFlagsTable): { name: string; flags: string[] }[] {
  return [
    { name: COMMON_FLAGS, flags: [...table.common] },
    ...Object.entries(table.own)
      .filter(([, own]) => own.length > 0)
      .map(([name, own]) => ({ name, flags: [...table.common, ...own] })),
  ];
}

/**
 * The option set this process runs with: the longest whose options begin `process.execArgv`, so
 * an operator's own after them (`skiff --node-options=… agent`) still gets its command's cache
 * (V8 takes it if they are not among the options it hashes, a heap size for one; if they are, it
 * rejects it and the bundle compiles lazily, as with no cache). Undefined for none (pure).
 */
export function codeCacheFlagSet(execArgv: readonly string[], table: NodeFlagsTable): string | undefined {
  const begins = (flags: readonly string[]) => flags.every((flag, i) => flag === execArgv[i]);
  return codeCacheFlagSets(table)
    .filter((set) => begins(set.flags))
    .sort((a, b) => b.flags.length - a.flags.length)[0]?.name;
}
