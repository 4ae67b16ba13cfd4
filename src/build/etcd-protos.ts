/**
 * etcd3's gRPC definitions for the bundle. At run time etcd3 calls `loadSync` on
 * `node_modules/etcd3/proto/rpc.proto` (which imports kv.proto and auth.proto), files a single
 * executable does not have. The build parses them once, here, with the same protobufjs that
 * proto-loader uses, and the bundle gets `fromJSON(<that JSON>, options)` in place of the
 * `loadSync` call (bundle-plugins.ts): same package definition, no file read.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

interface ProtobufRoot {
  loadSync(filename: string, options: { keepCase: boolean }): ProtobufRoot;
  resolveAll(): ProtobufRoot;
  toJSON(): unknown;
}

/** The directory holding etcd3's `proto/`. */
export function etcd3PackageDir(): string {
  return dirname(require.resolve('etcd3/package.json'));
}

/** rpc.proto and its imports as protobufjs JSON, parsed as proto-loader would (keepCase). */
export function etcdProtoJson(packageDir = etcd3PackageDir()): unknown {
  // protobufjs as etcd3's proto-loader resolves it, so the JSON matches the parser at run time.
  const fromEtcd = createRequire(require.resolve('@grpc/proto-loader', { paths: [packageDir] }));
  const protobuf = fromEtcd('protobufjs') as { Root: new () => ProtobufRoot };
  const root = new protobuf.Root().loadSync(join(packageDir, 'proto', 'rpc.proto'), { keepCase: true });
  return root.resolveAll().toJSON();
}

/** etcd3's own call, which the bundle replaces; the build fails if a new etcd3 changed it. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: the text of a template literal in etcd3's source
export const ETCD_LOAD_CALL = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, {';

export function replaceEtcdProtoLoad(source: string, json: unknown): string {
  if (!source.includes(ETCD_LOAD_CALL)) {
    throw new Error('etcd3/lib/connection-pool.js no longer loads its protos as the bundle expects');
  }
  return source.replace(ETCD_LOAD_CALL, `(0, proto_loader_1.fromJSON)(${JSON.stringify(json)}, {`);
}
