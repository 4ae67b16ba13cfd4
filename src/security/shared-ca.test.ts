import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ClusterKeyError } from '../secrets/cluster-key.ts';
import { ClusterPki } from './cluster-pki.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function metaStore() {
  const meta = new Map<string, string>();
  return {
    getMeta: (key: string) => meta.get(key),
    setMeta: (key: string, value: string) => meta.set(key, value),
  };
}

async function server(store: ReturnType<typeof metaStore>, clusterKey: Buffer) {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-shared-ca-'));
  dirs.push(dataDir);
  return await ClusterPki.open({
    dataDir,
    clusterId: 'c1',
    store,
    clusterKey,
    listen: '127.0.0.1',
    sans: [],
    certLifetimeMs: 3_600_000,
    now: Date.now,
    log: () => {},
  });
}

test('servers on one store share the CA and the join token; a rotation on one reaches the other', async () => {
  const store = metaStore();
  const key = randomBytes(32);
  const first = await server(store, key);
  const second = await server(store, key);
  assert.equal(second.caDigest, first.caDigest);
  assert.equal(second.joinToken, first.joinToken);
  const rotated = first.rotateJoinToken();
  assert.equal(second.joinToken, rotated);
  // The key stays sealed: the store never holds the CA's private key in the clear.
  assert.ok(!(store.getMeta('cluster_ca') ?? '').includes('PRIVATE KEY'));
});

test('a server given another cluster key is refused with what to do', async () => {
  const store = metaStore();
  await server(store, randomBytes(32));
  await assert.rejects(server(store, randomBytes(32)), (error: unknown) => {
    assert.ok(error instanceof ClusterKeyError);
    assert.match(error.message, /same key file/);
    return true;
  });
});
