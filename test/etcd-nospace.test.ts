/**
 * etcd's space quota exhausted (a tiny --quota-backend-bytes): etcd raises its NOSPACE alarm and
 * refuses writes; the store refuses them with StoreUnavailableError('no-space') saying what to
 * do, its alarm check names it in its health and the log, and reads go on from the mirror.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StoreUnavailableError } from '../src/store/errors.ts';
import { EtcdStore } from '../src/store/etcd/etcd-store.ts';
import type { EtcdCluster } from './support/etcd.ts';
import { startEtcdCluster } from './support/etcd.ts';
import { eventually } from './support/eventually.ts';

let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcdCluster(1, ['--quota-backend-bytes=4194304']);
});
after(async () => {
  await etcd?.stop();
});

test('NOSPACE: writes refused naming the alarm and what to do; health and log say it; reads go on', async () => {
  const logged: string[] = [];
  const store = await EtcdStore.open({
    endpoints: etcd.endpoints,
    prefix: '/nospace',
    compactEveryMs: 0,
    alarmCheckMs: 100,
    log: (m) => logged.push(m),
  });
  try {
    store.setMeta('kept', 'yes');
    await store.durable();
    let refused: unknown;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      store.setMeta(`filler-${i}`, 'x'.repeat(512 * 1024));
      refused = await store.durable().then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    assert.ok(refused instanceof StoreUnavailableError, String(refused));
    assert.equal(refused.reason, 'no-space');
    assert.match(refused.message, /NOSPACE.*defrag.*alarm disarm/s);
    await eventually(
      'the alarm check to log it',
      () => logged.some((line) => /raised its NOSPACE alarm.*defragment/.test(line)) || undefined,
      {
        timeoutMs: 5000,
      },
    );
    assert.equal(store.health().writable, false);
    assert.match(store.health().problem ?? '', /NOSPACE/);
    assert.equal(store.getMeta('kept'), 'yes');
  } finally {
    await store.close();
  }
});
