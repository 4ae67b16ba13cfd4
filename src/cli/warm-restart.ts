/**
 * A long-running process started on a cold compile cache (the first start after an install, an
 * upgrade or a change of Node options) has loaded Node's TypeScript stripper (amaro and its
 * WebAssembly: 17 MB of RSS) to compile its modules, and keeps it for its whole life. Once the
 * modules are compiled and in the cache, the process replaces itself (`process.execve`: the same
 * PID, arguments, environment and standard streams) by one that starts warm and never loads the
 * stripper: the agent's first start costs one more load of its modules, and every agent runs
 * without the 17 MB (README: the agent's footprint). Only from a checkout started with
 * NODE_COMPILE_CACHE set (bin/skiff); the single executable is bundled JavaScript and strips nothing.
 */
import { flushCompileCache, getCompileCacheDir } from 'node:module';

/** Set in the restarted process: the milliseconds the cold one ran (so it restarts once only). */
export const WARM_RESTART_ENV = 'SKIFF_WARM_RESTART_AFTER_MS';

const STRIPPER = 'NativeModule internal/deps/amaro/dist/index';

export interface WarmRestartFacts {
  /** Node's modules loaded so far (`process.moduleLoadList`); undefined if this Node has none. */
  readonly loadedBuiltins: readonly string[] | undefined;
  /**
   * The compile cache's directory, undefined when it is off; and whether it was given before Node
   * started (NODE_COMPILE_CACHE, as bin/skiff does): only then can the entry module (main.ts, compiled
   * before main.ts turns the cache on) come from it, and a restart start without the stripper.
   */
  readonly cacheDir: string | undefined;
  readonly cacheFromStart: boolean;
  readonly canExecve: boolean;
  /** The marker in the environment: this process is already the restarted one. */
  readonly restarted: boolean;
}

/** Pure: whether to restart, now that the modules are loaded. */
export function shouldRestartWarm(facts: WarmRestartFacts): boolean {
  if (facts.restarted || !facts.canExecve || facts.cacheDir === undefined || !facts.cacheFromStart)
    return false;
  return facts.loadedBuiltins?.includes(STRIPPER) ?? false;
}

/** The milliseconds an earlier, cold image of this process ran before it restarted (0 if none). */
export function coldImageMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env[WARM_RESTART_ENV]);
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : 0;
}

/**
 * Restarts this process warm if its modules were compiled on a cold cache; returns otherwise
 * (then with the restart's marker taken out of the environment, which the process passes on).
 * Call it once the command's modules are loaded: a TypeScript module imported later (lazily)
 * would find the cache cold and load the stripper after all (the agent imports none).
 */
export function restartWarmIfCold(): void {
  if (!willRestartWarm()) {
    delete process.env[WARM_RESTART_ENV];
    return;
  }
  flushCompileCache();
  const env = { ...process.env, [WARM_RESTART_ENV]: String(Math.round(performance.now())) };
  process.execve?.(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], env);
}

/**
 * Whether this image will restart warm at `restartWarmIfCold()`: then it may import, to compile
 * them into the cache, the modules the warm image imports only later (lazily), which would load
 * the stripper there otherwise.
 */
export function willRestartWarm(): boolean {
  const facts: WarmRestartFacts = {
    loadedBuiltins: (process as unknown as { moduleLoadList?: string[] }).moduleLoadList,
    cacheDir: getCompileCacheDir(),
    cacheFromStart: (process.env.NODE_COMPILE_CACHE ?? '') !== '',
    canExecve: typeof process.execve === 'function',
    restarted: process.env[WARM_RESTART_ENV] !== undefined,
  };
  return shouldRestartWarm(facts);
}
