/**
 * The `node --experimental-sea-config` file for the single executable (pure: paths in, JSON out).
 * Its main is the loader (sea-main.ts), small and without Node's code cache (which would be made
 * under one set of options only); the bundle and its code caches, one per option set, are assets
 * (code-cache.ts). A cross build has no caches (one fits only the Node binary that made it).
 */
import { join } from 'node:path';
import { BUNDLE_ASSET } from './code-cache.ts';
import { DASHBOARD_ASSET_PREFIX } from './embedded-assets.ts';

export interface SeaConfigInput {
  /** The SEA's main (sea-main.ts bundled). */
  readonly loaderPath: string;
  readonly bundlePath: string;
  /** Code cache asset names → their files (code-cache.ts), none in a cross build. */
  readonly codeCaches: Readonly<Record<string, string>>;
  readonly blobPath: string;
  /** The dashboard's build directory and its files (relative paths), empty when not built. */
  readonly dashboardDir: string;
  readonly dashboardFiles: readonly string[];
  /** Node options the executable starts with (`bin/node-flags`, as `bin/skiff` passes them). */
  readonly execArgv: readonly string[];
}

export interface SeaConfig {
  readonly main: string;
  readonly output: string;
  readonly disableExperimentalSEAWarning: true;
  readonly useSnapshot: false;
  readonly useCodeCache: false;
  readonly execArgv: readonly string[];
  readonly execArgvExtension: 'cli';
  readonly assets: Record<string, string>;
}

export function seaConfig(input: SeaConfigInput): SeaConfig {
  const assets: Record<string, string> = { [BUNDLE_ASSET]: input.bundlePath, ...input.codeCaches };
  for (const file of input.dashboardFiles) {
    assets[DASHBOARD_ASSET_PREFIX + file] = join(input.dashboardDir, ...file.split('/'));
  }
  return {
    main: input.loaderPath,
    output: input.blobPath,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    // The loader's own is not worth one, and the agent's re-exec'd image would reject it and warn.
    useCodeCache: false,
    execArgv: input.execArgv,
    // `--node-options=…` on the command line adds options after execArgv (Node takes it out of
    // argv): how `skiff agent` gets its own (command-node-flags.ts). NODE_OPTIONS is then ignored.
    execArgvExtension: 'cli',
    assets,
  };
}
