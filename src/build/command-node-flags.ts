/**
 * The single executable's per-command Node options. A SEA has one `execArgv` for every command
 * (bin/node-flags' common lines: the server's young generation and heap growth), and V8 reads its
 * heap options once, as the isolate is made, so a command with options of its own (`agent:` lines:
 * a 1 MB semi-space, no optimizing compilers, the memory-saving mode) cannot take them later in
 * the process (`v8.setFlagsFromString` does not resize a heap). Nor from `NODE_OPTIONS`, which
 * Node reads before `execArgv` (so it cannot lower an option there) and which may not carry
 * `--max-opt`. So such a command replaces itself at once, before any of its modules run, with
 * `process.execve` (the same PID, so systemd's unit, its signals and its logs see one process) by
 * the same executable started with `--node-options=OWN OPTIONS`: the SEA is built with
 * `execArgvExtension: "cli"`, where Node takes that argument out of argv and puts its options
 * after `execArgv`, and V8 takes the last of an option given twice. The restarted process has
 * exactly the options bin/skiff gives the command (`readNodeFlags(command)`).
 *
 * This module must be the first import of the SEA's main (sea-main.ts, the loader): it runs as it
 * is evaluated, before the loader reads and compiles the bundle.
 *
 * What it costs, measured (README: the agent's footprint): the first image's start, Node's and the
 * loader's. The agent's image has a code cache of its own (code-cache.ts): V8 hashes `--max-opt`,
 * `--optimize-for-size` and `--heap-growing-percent` into one, and until session 13 the agent's
 * image was offered the blob's, made under the common options, which V8 rejected (Node warned
 * `Code cache data rejected.` at every agent start; `skiff agent --help` 123 → 216 ms, now 147).
 * Why this and not: re-execing the server instead (the agent's options as `execArgv`): the other
 * commands would run under them, or all but the CLI's re-exec; `v8.setFlagsFromString`: too late
 * for the heap; `--disable-warning=Warning` for the cache's line: it would hide every generic warning
 * for the agent's life. Node 24 has no per-invocation SEA config otherwise (`execArgvExtension`
 * is `none`, `env` or `cli`).
 */

import { WARM_RESTART_ENV } from '../cli/warm-restart.ts';

/** The build writes bin/node-flags' options here: the SEA's execArgv and each command's own. */
declare const __SKIFF_NODE_FLAGS__: NodeFlagsTable | undefined;

export interface NodeFlagsTable {
  /** Every command's (the SEA's `execArgv`). */
  readonly common: readonly string[];
  /** Per command, its options beyond those (`readCommandOwnFlags()`). */
  readonly own: Readonly<Record<string, readonly string[]>>;
}

export interface CommandFlagsFacts extends NodeFlagsTable {
  /** The command line after the executable (`process.argv.slice(2)`). */
  readonly args: readonly string[];
  readonly execArgv: readonly string[];
  readonly restarted: boolean;
  readonly canExecve: boolean;
}

/**
 * Pure: the `--node-options=…` argument to restart with, or undefined to run as is. Options an
 * operator gave with `skiff --node-options=… agent` (Node has taken the argument out of argv, and
 * they follow `execArgv`) are passed on after the command's own, so they still win.
 */
export function commandFlagsRestart(facts: CommandFlagsFacts): string | undefined {
  const command = facts.args[0];
  if (command === undefined || !Object.hasOwn(facts.own, command)) return undefined;
  const flags = facts.own[command] ?? [];
  if (flags.length === 0 || facts.restarted || !facts.canExecve) return undefined;
  const given = facts.common.every((flag, i) => facts.execArgv[i] === flag)
    ? facts.execArgv.slice(facts.common.length)
    : facts.execArgv;
  // Already given, last (by hand).
  const tail = given.slice(given.length - flags.length);
  if (tail.length === flags.length && tail.every((flag, i) => flag === flags[i])) return undefined;
  return `--node-options=${[...flags, ...given].map(quoteNodeOption).join(' ')}`;
}

/** Node splits `--node-options` as it does NODE_OPTIONS: at spaces, outside double quotes. */
function quoteNodeOption(option: string): string {
  return /[\s"\\]/.test(option) ? `"${option.replace(/["\\]/g, '\\$&')}"` : option;
}

/**
 * Restarts this process with its command's own options when it has some; returns otherwise. The
 * restarted image gets the warm restart's marker (warm-restart.ts), the milliseconds this one ran:
 * the agent counts its start from the process's, and the marker means it restarts no more.
 */
export function restartWithCommandFlags(): void {
  const nodeOptions = commandFlagsRestart({
    args: process.argv.slice(2),
    execArgv: process.execArgv,
    ...(typeof __SKIFF_NODE_FLAGS__ === 'undefined' || __SKIFF_NODE_FLAGS__ === undefined
      ? { common: [], own: {} }
      : __SKIFF_NODE_FLAGS__),
    restarted: process.env[WARM_RESTART_ENV] !== undefined,
    canExecve: typeof process.execve === 'function',
  });
  if (nodeOptions === undefined) return;
  const env = { ...process.env, [WARM_RESTART_ENV]: String(Math.round(performance.now())) };
  process.execve?.(process.execPath, [process.execPath, nodeOptions, ...process.argv.slice(2)], env);
}

// Outside the binary (a test importing this module) there are no per-command options: a no-op.
restartWithCommandFlags();
