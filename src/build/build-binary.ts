/**
 * `npm run build:binary`: the single executable `dist/skiff` (Linux x86-64) and its checksum.
 *
 *   1. esbuild bundles src/build/binary-entry.ts into one CommonJS file (Node 24 has no ESM entry
 *      for a SEA), with the build info as a constant, ssh2 left out (bundle-plugins.ts) and
 *      etcd3's protos parsed in;
 *   2. `node --experimental-sea-config` makes the blob: its main is a small loader (sea-main.ts),
 *      and its assets the bundle, one code cache per set of Node options a command runs with
 *      (code-cache.ts: the agent's differ), and the dashboard's `web/dist` files when built;
 *   3. the Node 24 binary (node_modules/.bin/node) is copied and stripped of its symbols
 *      (126 → 108 MB; nothing at run time reads them);
 *   4. postject injects the blob and flips the SEA fuse;
 *   5. `dist/skiff.sha256` is written in `sha256sum -c` format.
 *
 * Options: `--out DIR` (default dist), `--web DIR` (the dashboard build to embed, default web/dist,
 * skipped when absent), `--node PATH` (another Node 24 binary, e.g. linux-arm64: a cross build,
 * which turns the code cache off), `--no-strip`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { type BuildInfo, checkoutBuildInfo } from './build-info.ts';
import { deferDockerRequires, embedEtcdProtos, leaveOutNativeSsh } from './bundle-plugins.ts';
import { codeCacheAsset, codeCacheFlagSets, wrapCommonJs } from './code-cache.ts';
import { listFiles } from './embedded-assets.ts';
import { readCommandOwnFlags, readNodeFlags } from './node-flags.ts';
import { seaConfig } from './sea-config.ts';

/** The fuse postject flips so Node looks for the blob (Node's own constant). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const root = resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'dist') },
    web: { type: 'string', default: join(root, 'web', 'dist') },
    node: { type: 'string' },
    'no-strip': { type: 'boolean' },
  },
});
const outDir = resolve(values.out);
const work = join(outDir, 'build');
mkdirSync(work, { recursive: true });
const hostNode = realpathSync(join(root, 'node_modules', '.bin', 'node'));
const targetNode = values.node ? realpathSync(values.node) : hostNode;
const crossBuild = targetNode !== hostNode;

const started = performance.now();
const info: BuildInfo = {
  ...checkoutBuildInfo(root),
  buildDate: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  flavour: 'binary',
  sshTransport: false,
};

const bundlePath = join(work, 'skiff.cjs');
const bundled = await build({
  entryPoints: [join(root, 'src', 'build', 'binary-entry.ts')],
  outfile: bundlePath,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  // Names stay readable in stack traces; whitespace is most of what minifying would save.
  minifyWhitespace: true,
  legalComments: 'none',
  define: {
    __SKIFF_BUILD__: JSON.stringify(info),
    // The SEA's execArgv and the agent's own options, which it re-execs itself with
    // (command-node-flags.ts).
    __SKIFF_NODE_FLAGS__: JSON.stringify({ common: readNodeFlags(), own: readCommandOwnFlags() }),
    // Modules that find files beside themselves see the bundle's own path, never an empty one.
    'import.meta.url': '__skiff_import_meta_url',
    'import.meta.dirname': '__dirname',
  },
  banner: { js: 'const __skiff_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [deferDockerRequires(), leaveOutNativeSsh(), embedEtcdProtos()],
  logLevel: 'warning',
  metafile: true,
});
const bundleBytes = statSync(bundlePath).size;
writeFileSync(join(work, 'meta.json'), JSON.stringify(bundled.metafile));

// The SEA's main: the loader (sea-main.ts), which re-execs a command with options of its own and
// compiles the bundle, an asset, with the code cache made under the options it runs with.
const flagsTable = { common: readNodeFlags(), own: readCommandOwnFlags() };
const loaderPath = join(work, 'sea-main.cjs');
await build({
  entryPoints: [join(root, 'src', 'build', 'sea-main.ts')],
  outfile: loaderPath,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  define: { __SKIFF_NODE_FLAGS__: JSON.stringify(flagsTable) },
  logLevel: 'warning',
});

// One code cache per option set (code-cache.ts), each made by the host's Node under exactly those
// options, from the text the loader compiles. Not in a cross build: a cache fits only the Node
// binary that made it.
const codeCaches: Record<string, string> = {};
if (!crossBuild) {
  const wrappedPath = join(work, 'skiff.wrapped.cjs');
  writeFileSync(wrappedPath, wrapCommonJs(readFileSync(bundlePath, 'utf8')));
  for (const set of codeCacheFlagSets(flagsTable)) {
    const cachePath = join(work, `code-cache-${set.name}.bin`);
    const make =
      'const fs = require("node:fs"); const { Script } = require("node:vm");' +
      `const script = new Script(fs.readFileSync(${JSON.stringify(wrappedPath)}, "utf8"));` +
      `fs.writeFileSync(${JSON.stringify(cachePath)}, script.createCachedData());`;
    quietly(hostNode, [...set.flags, '-e', make]);
    codeCaches[codeCacheAsset(set.name)] = cachePath;
  }
}

const execArgv = flagsTable.common;
const dashboardDir = resolve(values.web);
const dashboardFiles = listFiles(dashboardDir);
const blobPath = join(work, 'sea-prep.blob');
const configPath = join(work, 'sea-config.json');
writeFileSync(
  configPath,
  JSON.stringify(
    seaConfig({
      loaderPath,
      bundlePath,
      codeCaches,
      blobPath,
      dashboardDir,
      dashboardFiles,
      execArgv,
    }),
    null,
    2,
  ),
);
quietly(hostNode, ['--experimental-sea-config', configPath]);

const binary = join(outDir, 'skiff');
copyFileSync(targetNode, binary);
chmodSync(binary, 0o755);
if (!values['no-strip']) execFileSync(stripTool(crossBuild), ['--strip-all', binary]);
quietly(hostNode, [
  join(root, 'node_modules', 'postject', 'dist', 'cli.js'),
  binary,
  'NODE_SEA_BLOB',
  blobPath,
  '--sentinel-fuse',
  SEA_FUSE,
]);

/** GNU strip reads only the host's architecture; llvm-strip reads every one (Debian's llvm package). */
function stripTool(cross: boolean): string {
  if (!cross) return 'strip';
  try {
    execFileSync('llvm-strip', ['--version'], { stdio: 'ignore' });
    return 'llvm-strip';
  } catch {
    throw new Error(
      "a cross build needs llvm-strip to strip another architecture's binary (or pass --no-strip)",
    );
  }
}

/**
 * Runs a build tool, showing its output only when it fails. postject's ELF library warns "Can't find
 * string offset for section name '.note.100'" on Node's binary, stripped or not, and the binary works.
 */
function quietly(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const output = error as { stdout?: Buffer; stderr?: Buffer };
    process.stderr.write(`${output.stdout ?? ''}${output.stderr ?? ''}`);
    throw error;
  }
}

const digest = createHash('sha256').update(readFileSync(binary)).digest('hex');
writeFileSync(join(outDir, 'skiff.sha256'), `${digest}  ${basename(binary)}\n`);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
process.stdout.write(
  `${binary}: ${mb(statSync(binary).size)} (bundle ${mb(bundleBytes)}, ${dashboardFiles.length} dashboard files` +
    `${crossBuild ? ', cross build: no code cache' : ''}), skiff ${info.version} ${info.commit.slice(0, 12)}, ` +
    `built in ${((performance.now() - started) / 1000).toFixed(1)} s\nsha256 ${digest}\n`,
);
