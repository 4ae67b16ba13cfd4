import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { ETCD_LOAD_CALL, etcd3PackageDir, etcdProtoJson, replaceEtcdProtoLoad } from './etcd-protos.ts';

const require = createRequire(import.meta.url);
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

interface Method {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
}

test('the embedded etcd protos give the package definition etcd3 loads from disk', () => {
  const dir = etcd3PackageDir();
  const loader = require(require.resolve('@grpc/proto-loader', { paths: [dir] })) as {
    loadSync(file: string, o: object): Record<string, Record<string, Method>>;
    fromJSON(json: unknown, o: object): Record<string, Record<string, Method>>;
  };
  const fromDisk = loader.loadSync(join(dir, 'proto', 'rpc.proto'), options);
  const embedded = loader.fromJSON(etcdProtoJson(dir), options);
  assert.deepEqual(Object.keys(embedded).sort(), Object.keys(fromDisk).sort());
  const methods = (definition: typeof fromDisk, service: string) =>
    Object.values(definition[service] ?? {}).map((m) => `${m.path} ${m.requestStream} ${m.responseStream}`);
  for (const service of [
    'etcdserverpb.KV',
    'etcdserverpb.Watch',
    'etcdserverpb.Lease',
    'etcdserverpb.Auth',
  ]) {
    assert.ok(methods(fromDisk, service).length > 0, service);
    assert.deepEqual(methods(embedded, service), methods(fromDisk, service));
  }
});

test('the load call in etcd3 is replaced, and a changed etcd3 fails the build', () => {
  const source = readFileSync(join(etcd3PackageDir(), 'lib', 'connection-pool.js'), 'utf8');
  assert.ok(source.includes(ETCD_LOAD_CALL));
  const replaced = replaceEtcdProtoLoad(source, { nested: {} });
  assert.ok(!replaced.includes('rpc.proto'));
  assert.ok(replaced.includes('(0, proto_loader_1.fromJSON)({"nested":{}}, {'));
  assert.throws(() => replaceEtcdProtoLoad('loadSync("elsewhere")', {}), /no longer loads its protos/);
});
