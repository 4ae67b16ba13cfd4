/**
 * The `node --experimental-sea-config` file for the single executable (pure: paths in, JSON out).
 * The code cache makes start-up skip compiling the bundle (the cache is specific to the Node
 * binary and CPU architecture that made it, so a cross build turns it off).
 */
import { join } from 'node:path';
import { DASHBOARD_ASSET_PREFIX } from './embedded-assets.ts';

export interface SeaConfigInput {
  readonly bundlePath: string;
  readonly blobPath: string;
  /** The dashboard's build directory and its files (relative paths), empty when not built. */
  readonly dashboardDir: string;
  readonly dashboardFiles: readonly string[];
  readonly crossBuild: boolean;
  /** Node options the executable starts with (`bin/node-flags`, as `bin/skiff` passes them). */
  readonly execArgv: readonly string[];
}

export interface SeaConfig {
  readonly main: string;
  readonly output: string;
  readonly disableExperimentalSEAWarning: true;
  readonly useSnapshot: false;
  readonly useCodeCache: boolean;
  readonly execArgv: readonly string[];
  readonly execArgvExtension: 'cli';
  readonly assets: Record<string, string>;
}

export function seaConfig(input: SeaConfigInput): SeaConfig {
  const assets: Record<string, string> = {};
  for (const file of input.dashboardFiles) {
    assets[DASHBOARD_ASSET_PREFIX + file] = join(input.dashboardDir, ...file.split('/'));
  }
  return {
    main: input.bundlePath,
    output: input.blobPath,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: !input.crossBuild,
    execArgv: input.execArgv,
    // `--node-options=…` on the command line adds options after execArgv (Node takes it out of
    // argv): how `skiff agent` gets its own (command-node-flags.ts). NODE_OPTIONS is then ignored.
    execArgvExtension: 'cli',
    assets,
  };
}
