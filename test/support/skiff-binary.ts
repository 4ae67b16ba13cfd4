/**
 * The single executable for tests: built once per test run by `npm run build:binary`'s script
 * (with a small dashboard fixture to embed), into a temp directory, then copied into another one
 * where no node_modules and no checkout exist, and run from there. SKIFF_TEST_BINARY names a
 * binary already built (CI can build once and share it); its dashboard assets are then whatever
 * it was built with.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SkiffCommand } from './skiff-cluster.ts';

const ROOT = resolve(import.meta.dirname, '../..');

export interface BuiltBinary {
  /** The copy to run, alone in `dir`. */
  readonly path: string;
  readonly dir: string;
  /** What `build-binary.ts` wrote beside it: `HASH  skiff`. */
  readonly checksumLine: string;
  /** Files of the dashboard fixture embedded (none when SKIFF_TEST_BINARY was given). */
  readonly dashboardFiles: readonly string[];
  readonly command: SkiffCommand;
  remove(): void;
}

export function buildBinary(): BuiltBinary {
  const work = mkdtempSync(join(tmpdir(), 'skiff-binary-build-'));
  const dir = mkdtempSync(join(tmpdir(), 'skiff-binary-'));
  const given = process.env.SKIFF_TEST_BINARY;
  let built: string;
  let dashboardFiles: string[] = [];
  if (given) {
    built = resolve(given);
  } else {
    const web = join(work, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>Skiff</title>');
    writeFileSync(join(web, 'assets', 'app.js'), 'console.log("dashboard")');
    dashboardFiles = ['assets/app.js', 'index.html'];
    execFileSync(
      process.execPath,
      [join(ROOT, 'src/build/build-binary.ts'), '--out', join(work, 'dist'), '--web', web],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    built = join(work, 'dist', 'skiff');
  }
  const checksum = join(built, '..', 'skiff.sha256');
  const checksumLine = existsSync(checksum) ? readFileSync(checksum, 'utf8').trim() : '';
  const path = join(dir, 'skiff');
  copyFileSync(built, path);
  execFileSync('chmod', ['755', path]);
  // The build directory (and its 100+ MB) is not needed once the binary is copied.
  if (!given) rmSync(work, { recursive: true, force: true });
  return {
    path,
    dir,
    checksumLine,
    dashboardFiles,
    command: { file: path, prefix: [], cwd: dir },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
