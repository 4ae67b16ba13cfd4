/**
 * Requires that dockerode and docker-modem make as they load, for features Skiff seldom or never
 * uses, deferred until the feature is first called. dockerode's BuildKit session (for
 * `buildImage` with `version: '2'`) brings @grpc/grpc-js, @grpc/proto-loader and protobufjs, and
 * docker-modem's `ssh://` transport brings ssh2 and its crypto (asn1, bcrypt-pbkdf, tweetnacl,
 * cpu-features): about 150 of the 637 modules an agent loaded, and their code and objects in
 * every agent's memory. Both modules export one function, so the stand-in is a function that
 * requires the real module at its first call and forwards to it.
 *
 * From a checkout, `installDeferredRequires()` (main.ts, before anything imports dockerode) puts
 * the stand-ins in with a module resolve/load hook; the single executable's bundle gets the same
 * stand-ins from an esbuild plugin (src/build/bundle-plugins.ts) over the same list.
 */
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface DeferredRequire {
  /** The requiring file, as the end of its path with `/` separators. */
  readonly parent: string;
  /** The request as that file writes it. */
  readonly specifier: string;
  /** What the required module brings in. */
  readonly brings: string;
}

export const DEFERRED_REQUIRES: readonly DeferredRequire[] = [
  {
    parent: '/dockerode/lib/docker.js',
    specifier: './session',
    brings: 'BuildKit session: @grpc/grpc-js, @grpc/proto-loader, protobufjs',
  },
  {
    parent: '/docker-modem/lib/modem.js',
    specifier: './ssh',
    brings: 'ssh:// transport: ssh2, asn1, bcrypt-pbkdf, tweetnacl, cpu-features',
  },
];

/** The entry of the list for `specifier` required from `parentPath` (a path or a file URL). */
export function deferredRequireFor(
  specifier: string,
  parentPath: string | undefined,
): DeferredRequire | undefined {
  if (parentPath === undefined) return undefined;
  const parent = parentPath.replaceAll('\\', '/');
  return DEFERRED_REQUIRES.find((entry) => entry.specifier === specifier && parent.endsWith(entry.parent));
}

/**
 * CommonJS source of the stand-in for the module at `realPath` (an absolute path; the bundler
 * follows it too): a function that requires the module at its first call (pure).
 */
export function deferredModuleSource(realPath: string): string {
  return `'use strict';
let real;
module.exports = function deferred(...args) {
  real ??= require(${JSON.stringify(realPath)});
  return real.apply(this, args);
};
`;
}

// The stand-in's own file name (which does not exist: the load hook gives its source), beside the
// real module's. Not the real name with a query: CommonJS caches modules by file name, so the
// stand-in would find itself in the cache when it requires the real module.
const MARK = '.skiff-deferred.cjs';
let installed = false;

/** Puts the stand-ins in for every later require of the list's modules (once per process). */
export function installDeferredRequires(): void {
  if (installed) return;
  installed = true;
  registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      if (deferredRequireFor(specifier, context.parentURL) === undefined) return resolved;
      return { ...resolved, url: `${resolved.url}${MARK}`, shortCircuit: true };
    },
    load(url, context, next) {
      if (!url.endsWith(MARK)) return next(url, context);
      const realPath = fileURLToPath(url.slice(0, -MARK.length));
      return { format: 'commonjs', source: deferredModuleSource(realPath), shortCircuit: true };
    },
  });
}
