/**
 * An etcd with its default limits (128 operations, 1.5 MiB per transaction): a batch far larger
 * (a pass placing 600 replicas) is still committed, in guarded parts the store learns to size.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { EtcdStore } from '../src/store/etcd/etcd-store.ts';
import type { EtcdCluster } from './support/etcd.ts';
import { startEtcdCluster } from './support/etcd.ts';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcdCluster(1, ['--max-txn-ops=128', '--max-request-bytes=1572864']);
});
after(async () => {
  await etcd?.stop();
});

test("a batch beyond etcd's default limits is committed in parts", async () => {
  const logged: string[] = [];
  const open = () =>
    EtcdStore.open({
      endpoints: etcd.endpoints,
      prefix: '/limits',
      compactEveryMs: 0,
      alarmCheckMs: 0,
      log: (m) => logged.push(m),
    });
  const store = await open();
  try {
    store.transaction(() => {
      for (let i = 0; i < 600; i++)
        store.insertTask({
          id: `t${i}`,
          service: 'web',
          slot: i,
          revision: 1,
          nodeId: null,
          desiredState: 'running',
          pendingReason: 'x'.repeat(1000),
          createdAt: i,
        });
    });
    await store.durable();
    assert.ok(
      logged.some((line) => /too large for etcd/.test(line)),
      logged.join('\n'),
    );
    const again = await open();
    assert.equal(again.taskSnapshot().length, 600);
    await again.close();
  } finally {
    await store.close();
  }
});
