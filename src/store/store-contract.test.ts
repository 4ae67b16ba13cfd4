/**
 * The store contract, run on both implementations: SQLite in a temp dir, and etcd (a real
 * 3-member cluster from test/support/etcd.ts, or the one SKIFF_TEST_ETCD_ENDPOINTS names), each
 * test under a key prefix of its own. Then what only a shared store has: two stores on one
 * prefix (another server's writes arrive; a write decided on stale state is refused), and the
 * write guard.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sharedEtcdEndpoints, testPrefix } from '../../test/support/etcd.ts';
import { eventually } from '../../test/support/eventually.ts';
import type { SkiffEvent } from '../model/event.ts';
import { AllocationExhaustedError, NotLeaderError, StoreConflictError } from './errors.ts';
import { EtcdStore } from './etcd/etcd-store.ts';
import { EtcdUpkeep } from './etcd/etcd-upkeep.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';
import { webSpec as spec, unplacedTask as task } from './store-fixture.ts';
import { writeOwner } from './write-owner.ts';

interface Implementation {
  readonly name: string;
  /** A fresh, empty store, and a way to open it again (a server restart). */
  fresh(label: string): Promise<{ store: Store; reopen: () => Promise<Store>; dispose: () => void }>;
}

const implementations: Implementation[] = [
  {
    name: 'sqlite',
    fresh: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'skiff-contract-'));
      const path = join(dir, 'skiff.db');
      return {
        store: new SqliteStore(path),
        reopen: async () => new SqliteStore(path),
        dispose: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'etcd',
    fresh: async (label) => {
      const endpoints = await sharedEtcdEndpoints();
      const prefix = testPrefix(label);
      const open = () => EtcdStore.open({ endpoints, prefix, compactEveryMs: 0, alarmCheckMs: 0 });
      return { store: await open(), reopen: open, dispose: () => {} };
    },
  },
];

const registration = {
  name: 'host-1',
  engine_id: 'e1',
  address: '10.0.0.1',
  labels: { zone: 'a' },
  cpu_millicores: 2000,
  memory_bytes: 1 << 30,
  engine_version: '20.10',
};

async function withStore(
  impl: Implementation,
  label: string,
  fn: (store: Store, reopen: () => Promise<Store>) => Promise<void>,
) {
  const { store, reopen, dispose } = await impl.fresh(label);
  try {
    await fn(store, reopen);
  } finally {
    await store.close();
    dispose();
  }
}

for (const impl of implementations) {
  describe(`store contract: ${impl.name}`, () => {
    test('specs get revisions; scaling is not one; a namesake starts anew', async () => {
      await withStore(impl, 'revisions', async (store) => {
        assert.equal(store.putService(spec, 1).service.revision, 1);
        assert.equal(store.putService(spec, 2).changed, false);
        const changed = store.putService({ ...spec, image: 'skiff-demo:v2' }, 3);
        assert.equal(changed.service.revision, 2);
        assert.equal(changed.service.rollout?.from_revision, 1);
        assert.equal(store.setReplicas('web', 5, 4)?.spec.replicas, 5);
        assert.equal(store.getService('web')?.revision, 2);
        const reverted = store.revertService(
          'web',
          1,
          {
            state: 'rolled_back',
            from_revision: 2,
            to_revision: 1,
            started_at: new Date(5).toISOString(),
            finished_at: null,
            message: 'back',
          },
          5,
        );
        assert.equal(reverted?.revision, 1);
        assert.equal(reverted?.spec.image, 'skiff-demo:v1');
        assert.equal(reverted?.spec.replicas, 5, 'today’s replica count is kept');
        assert.deepEqual(
          store.listRevisions('web').map((r) => r.revision),
          [1, 2],
        );
        assert.equal(store.getRevision('web', 2)?.image, 'skiff-demo:v2');
        assert.equal(store.deleteService('web'), true);
        assert.equal(store.deleteService('web'), false);
        assert.equal(store.putService(spec, 6).service.revision, 1);
        assert.equal(store.getRevision('web', 2), undefined);
        await store.durable();
      });
    });

    test('revisions are pruned to the last 10, keeping those tasks run', async () => {
      await withStore(impl, 'prune', async (store) => {
        store.putService(spec, 0);
        store.insertTask(task('old', { revision: 1 }));
        for (let i = 2; i <= 25; i++) store.putService({ ...spec, image: `skiff-demo:v${i}` }, i);
        assert.deepEqual(
          store.listRevisions('web').map((r) => r.revision),
          [1, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
        );
        await store.durable();
      });
    });

    test('tasks: written through, listed in order, unchanged records keep their identity', async () => {
      await withStore(impl, 'tasks', async (store) => {
        store.putService(spec, 0);
        store.insertTask(task('b', { slot: 1, createdAt: 2 }));
        store.insertTask(task('a', { slot: 0, createdAt: 3 }));
        store.insertTask(task('c', { service: 'api', slot: 0 }));
        assert.deepEqual(
          store.listTasks().map((t) => t.id),
          ['c', 'a', 'b'],
        );
        const before = store.taskSnapshot();
        store.placeTask('a', 'n1', null);
        store.setDesiredState('b', 'shutdown');
        store.setObserved('a', {
          task_id: 'a',
          state: 'running',
          health: 'healthy',
          container_id: 'abc',
          message: null,
          exit_code: null,
          restart_count: 0,
          ports: [],
          retry_at: null,
          ready_since: 5,
          ip: null,
        });
        const c = store.taskSnapshot().find((t) => t.id === 'c');
        assert.equal(
          c,
          before.find((t) => t.id === 'c'),
          'an unchanged record is the same object',
        );
        assert.equal(
          before.find((t) => t.id === 'a')?.nodeId,
          null,
          'a snapshot taken before is not changed',
        );
        assert.deepEqual(
          store.tasksOnNode('n1').map((t) => t.id),
          ['a'],
        );
        assert.equal(store.listTasks('web').find((t) => t.id === 'b')?.desiredState, 'shutdown');
        assert.equal(store.listTasks('web').find((t) => t.id === 'a')?.observed?.ready_since, 5);
        store.deleteTask('b');
        assert.deepEqual(
          store.listTasks('web').map((t) => t.id),
          ['a'],
        );
        await store.durable();
      });
    });

    test('a transaction that throws leaves nothing; nested ones join the outer', async () => {
      await withStore(impl, 'tx', async (store) => {
        assert.throws(() =>
          store.transaction(() => {
            store.putService(spec, 1);
            store.insertTask(task('t1'));
            store.transaction(() => store.setMeta('inner', 'x'));
            throw new Error('no');
          }),
        );
        assert.equal(store.getService('web'), undefined);
        assert.equal(store.listTasks().length, 0);
        assert.equal(store.getMeta('inner'), undefined);
        await store.durable();
        store.transaction(() => {
          store.putService(spec, 1);
          store.transaction(() => store.insertTask(task('t1')));
        });
        await store.durable();
        assert.equal(store.listTasks().length, 1);
      });
    });

    test('allocations: the lowest free index, kept per name, exhausted by name, freed for reuse', async () => {
      await withStore(impl, 'alloc', async (store) => {
        assert.equal(store.allocate('service', 'a', 1, 3), 1);
        assert.equal(store.allocate('service', 'b', 1, 3), 2);
        assert.equal(store.allocate('service', 'a', 1, 3), 1);
        assert.equal(store.allocate('network', 'default', 0, 1), 0);
        assert.equal(store.allocate('service', 'c', 1, 3), 3);
        assert.throws(() => store.allocate('service', 'd', 1, 3), AllocationExhaustedError);
        store.releaseAllocation('service', 'b');
        await store.durable();
        // Taken again once its release is committed (etcd: a key created again after a delete).
        assert.equal(store.allocate('service', 'd', 1, 3), 2);
        await store.durable();
        store.releaseAllocation('network', 'default');
        await store.durable();
        assert.equal(store.allocate('network', 'default', 0, 1), 0);
        await store.durable();
        assert.deepEqual(store.listAllocations(), [
          { kind: 'network', name: 'default', index: 0 },
          { kind: 'service', name: 'a', index: 1 },
          { kind: 'service', name: 'd', index: 2 },
          { kind: 'service', name: 'c', index: 3 },
        ]);
        await store.durable();
      });
    });

    test('nodes: the first registration fixes the join time; operator settings stay', async () => {
      await withStore(impl, 'nodes', async (store) => {
        store.upsertNode('n1', registration, 10);
        store.setNodeAvailability('n1', 'draining');
        store.setNodeLabels('n1', { rack: '7' });
        store.upsertNode('n1', { ...registration, address: '10.0.0.9' }, 20);
        store.upsertNode('n0', { ...registration, name: 'host-0' }, 30);
        const nodes = store.listNodes();
        assert.deepEqual(
          nodes.map((n) => n.id),
          ['n0', 'n1'],
        );
        const n1 = nodes[1];
        assert.equal(n1?.joinedAt, 10);
        assert.equal(n1?.availability, 'draining');
        assert.deepEqual(n1?.labels, { rack: '7' });
        assert.equal(n1?.registration.address, '10.0.0.9');
        store.deleteNode('n0');
        assert.deepEqual(
          store.listNodes().map((n) => n.id),
          ['n1'],
        );
        await store.durable();
      });
    });

    test('events: committed with growing ids, listed by page, time and service, pruned, told to subscribers', async () => {
      await withStore(impl, 'events', async (store) => {
        const heard: SkiffEvent[] = [];
        store.subscribeEvents((e) => heard.push(e));
        for (let i = 0; i < 5; i++)
          store.appendEvent(
            { type: 'service', service: i % 2 ? 'a' : 'b', container: null, node: null, message: `m${i}` },
            1000 + i,
          );
        store.transaction(() => {
          store.appendEvent(
            { type: 'scale', service: 'a', container: null, node: null, message: 'm5' },
            2000,
          );
          store.appendEvent(
            { type: 'scale', service: 'a', container: null, node: null, message: 'x'.repeat(100_000) },
            2001,
          );
        });
        await store.durable();
        await eventually('every event heard', () => heard.length === 7 || undefined, { timeoutMs: 15_000 });
        const all = store.listEvents({ limit: 100 });
        assert.deepEqual(
          all.map((e) => e.message.slice(0, 2)),
          ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'xx'],
        );
        assert.ok(
          all.every((e, i) => i === 0 || e.id > (all[i - 1]?.id ?? 0)),
          'ids grow',
        );
        assert.ok((all.at(-1)?.message.length ?? 0) < 100_000, 'messages are bounded');
        assert.deepEqual(
          heard.map((e) => e.id),
          all.map((e) => e.id),
        );
        const first = all[0]?.id ?? 0;
        assert.deepEqual(
          store.listEvents({ afterId: first, limit: 2 }).map((e) => e.message),
          ['m1', 'm2'],
        );
        assert.deepEqual(
          store.listEvents({ limit: 2, service: 'a' }).map((e) => e.message.slice(0, 2)),
          ['m5', 'xx'],
        );
        assert.deepEqual(
          store.listEvents({ limit: 10, sinceMs: 1003, service: 'b' }).map((e) => e.message),
          ['m4'],
        );
        assert.equal(all[0]?.timestamp, new Date(1000).toISOString());
        // Batches committed together (the later two wait for the first): every id stays unique.
        for (let t = 0; t < 3; t++)
          store.transaction(() => {
            for (const n of [0, 1])
              store.appendEvent(
                { type: 'scale', service: 'c', container: null, node: null, message: `g${t}${n}` },
                3000,
              );
          });
        await store.durable();
        await eventually('the grouped events heard', () => heard.length === 13 || undefined, {
          timeoutMs: 15_000,
        });
        const grouped = store.listEvents({ limit: 100, service: 'c' });
        assert.deepEqual(
          grouped.map((e) => e.message),
          ['g00', 'g01', 'g10', 'g11', 'g20', 'g21'],
        );
        assert.equal(new Set(store.listEvents({ limit: 100 }).map((e) => e.id)).size, 13, 'ids are unique');
        store.pruneEvents(3);
        await store.durable();
        assert.deepEqual(
          store.listEvents({ limit: 100 }).map((e) => e.message.slice(0, 3)),
          ['g11', 'g20', 'g21'],
        );
      });
    });

    test('state survives a restart of the server (the store opened again)', async () => {
      await withStore(impl, 'reopen', async (store, reopen) => {
        store.setMeta('cluster_id', 'c1');
        store.putService(spec, 1);
        store.insertTask(task('t1', { nodeId: 'n1' }));
        store.allocate('service', 'web', 1, 10);
        store.upsertNode('n1', registration, 5);
        store.appendEvent({ type: 'service', service: 'web', container: null, node: null, message: 'hi' }, 7);
        await store.durable();
        const again = await reopen();
        try {
          assert.equal(again.getMeta('cluster_id'), 'c1');
          assert.equal(again.getService('web')?.revision, 1);
          assert.equal(again.listRevisions('web').length, 1);
          assert.deepEqual(
            again.listTasks().map((t) => [t.id, t.nodeId]),
            [['t1', 'n1']],
          );
          assert.deepEqual(again.listAllocations(), [{ kind: 'service', name: 'web', index: 1 }]);
          assert.equal(again.listNodes()[0]?.joinedAt, 5);
          assert.deepEqual(
            again.listEvents({ limit: 10 }).map((e) => e.message),
            ['hi'],
          );
        } finally {
          await again.close();
        }
      });
    });
  });
}

describe('store contract: two servers on one etcd prefix', () => {
  async function pair(label: string) {
    const endpoints = await sharedEtcdEndpoints();
    const prefix = testPrefix(label);
    const open = () => EtcdStore.open({ endpoints, prefix, compactEveryMs: 0, alarmCheckMs: 0 });
    const a = await open();
    const b = await open();
    return { a, b, endpoints, prefix, close: async () => Promise.all([a.close(), b.close()]) };
  }

  test("another server's writes reach the mirror and wake onChange; its events reach subscribers", async () => {
    const { a, b, close } = await pair('watch');
    try {
      let woken = 0;
      b.onChange(() => woken++);
      const heard: string[] = [];
      b.subscribeEvents((e) => heard.push(e.message));
      a.putService(spec, 1);
      a.insertTask(task('t1'));
      a.appendEvent({ type: 'service', service: 'web', container: null, node: null, message: 'from a' }, 1);
      await a.durable();
      await eventually(
        'b sees a’s writes',
        () => (b.getService('web') && b.listTasks().length === 1) || undefined,
        {
          timeoutMs: 15_000,
        },
      );
      await eventually(
        'b was woken and heard the event',
        () => (woken > 0 && heard.includes('from a')) || undefined,
        {
          timeoutMs: 15_000,
        },
      );
      assert.deepEqual(
        b.listEvents({ limit: 5 }).map((e) => e.message),
        ['from a'],
      );
      let ownWakes = 0;
      a.onChange(() => ownWakes++);
      a.setMeta('k', 'v');
      await a.durable();
      await eventually('b sees the meta', () => b.getMeta('k') === 'v' || undefined, { timeoutMs: 15_000 });
      assert.equal(ownWakes, 0, 'a store is not woken by its own writes');
    } finally {
      await close();
    }
  });

  test('a write decided on state another server changed is refused and undone; the mirror catches up', async () => {
    const { a, b, close } = await pair('conflict');
    try {
      a.putService(spec, 1);
      await a.durable();
      await eventually('b has the service', () => b.getService('web') || undefined, { timeoutMs: 15_000 });
      // Both change the same service from the same state: one wins, the other is refused.
      a.setReplicas('web', 7, 2);
      b.setReplicas('web', 9, 2);
      const [ra, rb] = await Promise.allSettled([a.durable(), b.durable()]);
      const refused = [ra, rb].filter((r) => r.status === 'rejected');
      assert.equal(refused.length, 1, `exactly one refused: ${JSON.stringify([ra.status, rb.status])}`);
      assert.ok((refused[0] as PromiseRejectedResult).reason instanceof StoreConflictError);
      const winner = ra.status === 'fulfilled' ? 7 : 9;
      await eventually(
        'both show the winner',
        () =>
          (a.getService('web')?.spec.replicas === winner && b.getService('web')?.spec.replicas === winner) ||
          undefined,
        { timeoutMs: 15_000 },
      );
      // Two servers pruning the same old events do not refuse each other.
      for (let i = 0; i < 5; i++)
        a.appendEvent({ type: 'service', service: 'web', container: null, node: null, message: `e${i}` }, i);
      await a.durable();
      await eventually('b has the events', () => b.listEvents({ limit: 10 }).length === 5 || undefined, {
        timeoutMs: 15_000,
      });
      a.pruneEvents(2);
      b.pruneEvents(2);
      await Promise.all([a.durable(), b.durable()]);
      await eventually(
        'both keep the newest 2',
        () =>
          (a.listEvents({ limit: 10 }).length === 2 && b.listEvents({ limit: 10 }).length === 2) || undefined,
        { timeoutMs: 15_000 },
      );
      // Two servers cannot take one address index for different names.
      a.allocate('service', 'x', 1, 100);
      b.allocate('service', 'y', 1, 100);
      const [xa, xb] = await Promise.allSettled([a.durable(), b.durable()]);
      assert.equal([xa, xb].filter((r) => r.status === 'rejected').length, 1);
      await eventually(
        'one index, one name',
        () => {
          const list = a.listAllocations().filter((x) => x.kind === 'service');
          return (
            (list.length === 1 &&
              JSON.stringify(b.listAllocations()) === JSON.stringify(a.listAllocations())) ||
            undefined
          );
        },
        { timeoutMs: 15_000 },
      );
    } finally {
      await close();
    }
  });

  test('the write guard: writes pass while it holds, are refused with NotLeaderError and undone after', async () => {
    const { a, b, prefix, close } = await pair('guard');
    try {
      const electionKey = `${prefix}-election/leader`;
      await a.client.put(electionKey).value('server-a');
      a.setWriteGuard({ key: electionKey, value: 'server-a' });
      a.putService(spec, 1);
      await a.durable();
      assert.equal(a.getService('web')?.revision, 1);
      await a.client.put(electionKey).value('server-b');
      a.setReplicas('web', 4, 2);
      a.insertTask(task('t1'));
      const error = await a.durable().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof NotLeaderError, String(error));
      assert.match(error.message, /server-b/);
      assert.equal(a.getService('web')?.spec.replicas, 2, 'the refused write is undone');
      assert.equal(a.listTasks().length, 0);
      await eventually('b never saw it', () => b.getService('web')?.spec.replicas === 2 || undefined, {
        timeoutMs: 15_000,
      });
      await a.client.delete().key(electionKey);
      a.setMeta('x', '1');
      await assert.rejects(a.durable(), /leadership key is gone/);
      a.setWriteGuard(null);
      a.setMeta('x', '2');
      await a.durable();
      assert.equal(a.getMeta('x'), '2');
      // A request's own writes are told their own outcome, not that of a pass that failed beside them.
      const request = {};
      writeOwner.run(request, () => a.setMeta('mine', '1'));
      a.setWriteGuard({ key: electionKey });
      a.setMeta('pass', 'x');
      await a.durable(request);
      await assert.rejects(a.durable(), NotLeaderError);
      assert.equal(a.getMeta('mine'), '1');
      assert.equal(a.getMeta('pass'), undefined);
    } finally {
      await close();
    }
  });
});

test('etcd upkeep: history is compacted to the revision seen one period before; the store reads on', async () => {
  const endpoints = await sharedEtcdEndpoints();
  const store = await EtcdStore.open({
    endpoints,
    prefix: testPrefix('compact'),
    compactEveryMs: 0,
    alarmCheckMs: 0,
  });
  try {
    store.setMeta('k', 'v1');
    await store.durable();
    const logged: string[] = [];
    let revision = (await store.client.kv.range({ key: Buffer.from('-') })).header.revision;
    const upkeep = new EtcdUpkeep({
      client: store.client,
      compactEveryMs: 0,
      alarmCheckMs: 0,
      revision: () => Number(revision),
      log: (m) => logged.push(m),
      onNoSpace: () => {},
    });
    assert.equal(await upkeep.compact(), 0, 'the first period only remembers where it was');
    const old = revision;
    store.setMeta('k', 'v2');
    await store.durable();
    revision = (await store.client.kv.range({ key: Buffer.from('-') })).header.revision;
    assert.equal(await upkeep.compact(), Number(old));
    await assert.rejects(
      store.client.kv.range({ key: Buffer.from(`${store.prefix}/meta/k`), revision: Number(old) - 1 }),
      /compacted/,
    );
    assert.equal(store.getMeta('k'), 'v2');
    assert.deepEqual(logged, []);
    await upkeep.checkAlarms();
    assert.equal(store.health().writable, true);
  } finally {
    await store.close();
  }
});
