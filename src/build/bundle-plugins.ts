/**
 * esbuild plugins for the single executable: what the bundle leaves out on purpose, and what it
 * carries that a dependency would otherwise read from disk at run time.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Plugin } from 'esbuild';
import { DEFERRED_REQUIRES, deferredModuleSource, deferredRequireFor } from '../docker/deferred-requires.ts';
import { SSH_TRANSPORT_LEFT_OUT } from './build-info.ts';
import { etcdProtoJson, replaceEtcdProtoLoad } from './etcd-protos.ts';

/**
 * dockerode's modem requires `ssh2` (and ssh2 the optional `cpu-features`) when it loads, both
 * with native addons. In the bundle they are a stub whose client throws the message above.
 */
export function leaveOutNativeSsh(): Plugin {
  return {
    name: 'leave-out-native-ssh',
    setup(build) {
      build.onResolve({ filter: /^(ssh2|cpu-features)$/ }, (args) => ({
        path: args.path,
        namespace: 'skiff-left-out',
      }));
      build.onLoad({ filter: /.*/, namespace: 'skiff-left-out' }, () => ({
        contents: `const message = ${JSON.stringify(SSH_TRANSPORT_LEFT_OUT)};
class Client { constructor() { throw new Error(message); } }
module.exports = { Client };`,
        loader: 'js',
      }));
    },
  };
}

/**
 * The deferred requires of src/docker/deferred-requires.ts, in the bundle: the requiring file
 * gets the same stand-in, whose `require` of the real module esbuild turns into a call of the
 * real module's wrapper, so the module (and what it requires) runs at the stand-in's first call.
 */
export function deferDockerRequires(): Plugin {
  const specifiers = [...new Set(DEFERRED_REQUIRES.map((entry) => entry.specifier))];
  const filter = new RegExp(
    `^(${specifiers.map((specifier) => specifier.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('|')})$`,
  );
  return {
    name: 'defer-docker-requires',
    setup(build) {
      build.onResolve({ filter }, async (args) => {
        if (args.pluginData?.skiffDeferred || deferredRequireFor(args.path, args.importer) === undefined)
          return;
        const real = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { skiffDeferred: true },
        });
        if (real.errors.length > 0) return { errors: real.errors };
        return { path: real.path, namespace: 'skiff-deferred' };
      });
      build.onLoad({ filter: /.*/, namespace: 'skiff-deferred' }, (args) => ({
        contents: deferredModuleSource(args.path),
        resolveDir: dirname(args.path),
        loader: 'js',
      }));
    },
  };
}

/** etcd3's .proto files, parsed at build time (etcd-protos.ts). */
export function embedEtcdProtos(): Plugin {
  return {
    name: 'embed-etcd-protos',
    setup(build) {
      let json: unknown;
      build.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
        json ??= etcdProtoJson();
        return { contents: replaceEtcdProtoLoad(readFileSync(args.path, 'utf8'), json), loader: 'js' };
      });
    },
  };
}
