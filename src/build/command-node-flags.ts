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
 * This module must be the entry's first import: esbuild runs a bundle's modules in import order,
 * so it runs before the CLI's modules are evaluated (the first image costs Node's start and the
 * bundle's code-cache load, 40–50 ms).
 */

import { WARM_RESTART_ENV } from '../cli/warm-restart.ts';

/** The build writes bin/node-flags' per-command options here (`readCommandOwnFlags()`). */
declare const __SKIFF_COMMAND_NODE_FLAGS__: Record<string, string[]> | undefined;

export interface CommandFlagsFacts {
  /** The command line after the executable (`process.argv.slice(2)`). */
  readonly args: readonly string[];
  readonly execArgv: readonly string[];
  /** Per command, its options beyond `execArgv`. */
  readonly own: Readonly<Record<string, readonly string[]>>;
  readonly restarted: boolean;
  readonly canExecve: boolean;
}

/** Pure: the `--node-options=…` argument to restart with, or undefined to run as is. */
export function commandFlagsRestart(facts: CommandFlagsFacts): string | undefined {
  const command = facts.args[0];
  if (command === undefined || !Object.hasOwn(facts.own, command)) return undefined;
  const flags = facts.own[command] ?? [];
  if (flags.length === 0 || facts.restarted || !facts.canExecve) return undefined;
  // Already given (by hand, or by a build without this re-exec's marker).
  const tail = facts.execArgv.slice(facts.execArgv.length - flags.length);
  if (tail.length === flags.length && tail.every((flag, i) => flag === flags[i])) return undefined;
  return `--node-options=${flags.join(' ')}`;
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
    own: typeof __SKIFF_COMMAND_NODE_FLAGS__ === 'undefined' ? {} : (__SKIFF_COMMAND_NODE_FLAGS__ ?? {}),
    restarted: process.env[WARM_RESTART_ENV] !== undefined,
    canExecve: typeof process.execve === 'function',
  });
  if (nodeOptions === undefined) return;
  const env = { ...process.env, [WARM_RESTART_ENV]: String(Math.round(performance.now())) };
  process.execve?.(process.execPath, [process.execPath, nodeOptions, ...process.argv.slice(2)], env);
}

// Outside the binary (a test importing this module) there are no per-command options: a no-op.
restartWithCommandFlags();
