/**
 * esbuild plugins for the single executable: what the bundle leaves out on purpose, and what it
 * carries that a dependency would otherwise read from disk at run time.
 */
import { readFileSync } from 'node:fs';
import type { Plugin } from 'esbuild';
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
