/**
 * The single executable's SEA main: a loader that compiles the bundle (binary-entry.ts, an asset)
 * with the code cache made under the Node options this process runs with (code-cache.ts: why).
 * First, a command with options of its own (the agent) re-execs itself with them
 * (command-node-flags.ts), before the bundle is read; the re-exec'd image comes back here and
 * takes its own cache.
 */
// First (it runs as it is evaluated): a command with options of its own re-execs itself with them.
import './command-node-flags.ts';
import { getRawAsset } from 'node:sea';
import { constants, Script } from 'node:vm';
import { BUNDLE_ASSET, codeCacheAsset, codeCacheFlagSet, wrapCommonJs } from './code-cache.ts';
import type { NodeFlagsTable } from './command-node-flags.ts';

declare const __SKIFF_NODE_FLAGS__: NodeFlagsTable;

/** What the loader did with the cache, for `skiff __binary-selftest` (binary-selftest.ts). */
export const CODE_CACHE_STATE = Symbol.for('skiff.codeCache');

const flagSet = codeCacheFlagSet(process.execArgv, __SKIFF_NODE_FLAGS__);
let cachedData: Buffer | undefined;
if (flagSet !== undefined) {
  try {
    cachedData = Buffer.from(getRawAsset(codeCacheAsset(flagSet)));
  } catch {
    // A cross build has no caches (made by the host's Node, they fit only its binary).
  }
}
// getRawAsset: the blob's bytes in place, no copy.
const source = Buffer.from(getRawAsset(BUNDLE_ASSET)).toString('utf8');
const script = new Script(wrapCommonJs(source), {
  filename: __filename,
  ...(cachedData === undefined ? {} : { cachedData }),
  // The bundle's `await import("node:https")` (Node's default loader, as for a SEA's main).
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
(globalThis as Record<symbol, unknown>)[CODE_CACHE_STATE] = {
  flagSet: flagSet ?? null,
  cache: cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted',
};
const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
wrapper.call(module.exports, module.exports, require, module, __filename, __dirname);
