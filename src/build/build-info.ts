/**
 * What this `skiff` is: its version, the commit it was built from and when. The binary build
 * (build-binary.ts) writes these into the bundle as a constant (`__SKIFF_BUILD__`, an esbuild
 * define); run from a checkout, they come from package.json and git, read when asked.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  readonly version: string;
  /** The full commit id, with `-dirty` when the tree had changes; `unknown` outside git. */
  readonly commit: string;
  /** RFC 3339; for a checkout, the commit's date. */
  readonly buildDate: string;
  /** `binary` (the single executable) or `source` (a checkout run by Node). */
  readonly flavour: 'binary' | 'source';
  /** Whether Docker's ssh:// transport is in this build (it needs a native addon, so the binary leaves it out). */
  readonly sshTransport: boolean;
}

declare const __SKIFF_BUILD__: BuildInfo | undefined;

let cached: BuildInfo | undefined;

/** Said when an ssh:// engine address meets a build without the transport. */
export const SSH_TRANSPORT_LEFT_OUT =
  'this skiff binary has no ssh:// transport to Docker (it needs the native ssh2 addon, which a single ' +
  'executable cannot load); run the agent on the Docker host (unix:///var/run/docker.sock), or forward ' +
  'the socket: ssh -NL /tmp/docker.sock:/var/run/docker.sock USER@HOST, then --docker-host unix:///tmp/docker.sock';

/** Cheap (no git): whether Docker's ssh:// transport is in this build. */
export function sshTransportIncluded(): boolean {
  return (
    typeof __SKIFF_BUILD__ === 'undefined' || __SKIFF_BUILD__ === undefined || __SKIFF_BUILD__.sshTransport
  );
}

export function buildInfo(): BuildInfo {
  if (typeof __SKIFF_BUILD__ !== 'undefined' && __SKIFF_BUILD__ !== undefined) return __SKIFF_BUILD__;
  cached ??= checkoutBuildInfo(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  return cached;
}

/** Only the bundle's define makes this true; a checkout always has every transport. */
export function isBinaryBuild(): boolean {
  return buildInfo().flavour === 'binary';
}

export function checkoutBuildInfo(root: string): BuildInfo {
  const pkg: unknown = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const version =
    typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string'
      ? pkg.version
      : '0.0.0';
  return { version, ...gitState(root), flavour: 'source', sshTransport: true };
}

/** The commit and its date, or `unknown` when git or the repository is not there. */
export function gitState(root: string): { commit: string; buildDate: string } {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  try {
    const [commit = 'unknown', date = ''] = git('log', '-1', '--format=%H %cI').split(' ');
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return { commit: dirty ? `${commit}-dirty` : commit, buildDate: date || new Date(0).toISOString() };
  } catch {
    return { commit: 'unknown', buildDate: new Date(0).toISOString() };
  }
}
