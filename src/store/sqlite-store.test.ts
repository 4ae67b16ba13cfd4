import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from './sqlite-store.ts';
import { webSpec as spec, unplacedTask } from './store-fixture.ts';

function withStore(fn: (store: SqliteStore, path: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-store-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  try {
    fn(store, join(dir, 'skiff.db'));
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a changed spec gets a new revision, an identical one does not', () => {
  withStore((store) => {
    assert.equal(store.putService(spec, 1).service.revision, 1);
    const same = store.putService(spec, 2);
    assert.equal(same.changed, false);
    assert.equal(same.service.revision, 1);
    const changed = store.putService({ ...spec, image: 'skiff-demo:v2' }, 3);
    assert.equal(changed.service.revision, 2);
    assert.equal(store.setReplicas('web', 5, 4)?.spec.replicas, 5);
    assert.equal(store.getService('web')?.revision, 2);
  });
});

test('a service deployed again after deletion starts its history anew', () => {
  withStore((store) => {
    store.putService(spec, 1);
    store.putService({ ...spec, image: 'skiff-demo:v2' }, 2);
    store.deleteService('web');
    assert.equal(store.putService(spec, 3).service.revision, 1);
    assert.deepEqual(
      store.listRevisions('web').map((r) => r.revision),
      [1],
    );
    assert.equal(store.getRevision('web', 2), undefined);
  });
});

test('revisions are pruned to the last 10, keeping the rollback target and those tasks run', () => {
  withStore((store) => {
    store.putService(spec, 0);
    store.insertTask(unplacedTask('old', { nodeId: 'n1', createdAt: 0 }));
    for (let i = 2; i <= 25; i++) store.putService({ ...spec, image: `skiff-demo:v${i}` }, i);
    const kept = store.listRevisions('web').map((r) => r.revision);
    assert.deepEqual(kept, [1, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  });
});

test('state survives reopening the file', () => {
  withStore((store, path) => {
    store.putService(spec, 1);
    store.insertTask(unplacedTask('t1'));
    store.placeTask('t1', 'node-1', null);
    const again = new SqliteStore(path);
    assert.equal(again.listTasks('web')[0]?.nodeId, 'node-1');
    assert.equal(again.getService('web')?.spec.replicas, 2);
    again.close();
  });
});

test('events are bounded and listed oldest first', () => {
  withStore((store) => {
    for (let i = 0; i < 10; i++) {
      store.appendEvent(
        { type: 'service', service: 'web', container: null, node: null, message: `e${i}` },
        i,
      );
    }
    store.pruneEvents(4);
    const events = store.listEvents({ limit: 100 });
    assert.deepEqual(
      events.map((e) => e.message),
      ['e6', 'e7', 'e8', 'e9'],
    );
    assert.deepEqual(
      store.listEvents({ limit: 2 }).map((e) => e.message),
      ['e8', 'e9'],
    );
    assert.equal(store.listEvents({ afterId: events[2]?.id, limit: 10 }).length, 1);
  });
});

test('out-of-range times cannot poison the store: events clamp, unreadable observations are forgotten', () => {
  withStore((store) => {
    const event = store.appendEvent(
      { type: 'node', service: null, container: null, node: null, message: 'far future' },
      1e300,
    );
    assert.match(event.timestamp, /^\+?\d{4,6}-/);
    assert.equal(store.listEvents({ limit: 10 }).length, 1);
    store.putService(spec, 1);
    store.insertTask(unplacedTask('t1', { nodeId: 'n1' }));
    store.setObserved('t1', {
      task_id: 't1',
      state: 'backoff',
      container_id: null,
      health: 'none',
      message: null,
      exit_code: null,
      restart_count: 0,
      ports: [],
      retry_at: 1e300,
      ready_since: null,
      ip: null,
    });
    assert.equal(store.listTasks('web')[0]?.observed, null);
  });
});

test('a spec stored under older, looser limits still reads', () => {
  withStore((store) => {
    const old = { ...spec, image: 'Old Image', stop_grace_period: '600h' } as typeof spec;
    store.putService(old, 1);
    assert.equal(store.listServices()[0]?.spec.stop_grace_period, '600h');
    assert.equal(store.getRevision('web', 1)?.image, 'Old Image');
  });
});

test('reads served from memory match the file, also after a rolled-back transaction', (t) => {
  withStore((store, path) => {
    const task = unplacedTask('t1');
    store.putService(spec, 1);
    store.insertTask(task);
    const before = store.taskSnapshot();
    store.placeTask('t1', 'n1', null);
    assert.equal(before[0]?.nodeId, null, 'a snapshot taken earlier is not changed by a later write');
    assert.throws(() =>
      store.transaction(() => {
        store.setDesiredState('t1', 'shutdown');
        store.setReplicas('web', 7, 2);
        throw new Error('abandoned');
      }),
    );
    assert.equal(
      store.listTasks()[0]?.desiredState,
      'running',
      'the rolled-back write is not kept in memory',
    );
    assert.equal(store.getService('web')?.spec.replicas, 2);
    const fresh = new SqliteStore(path);
    t.after(() => fresh.close());
    assert.deepEqual(fresh.listTasks(), store.listTasks());
    assert.deepEqual(fresh.listServices(), store.listServices());
  });
});

test('event listings from memory match a fresh read of the file, through appends, prunes and a rollback', (t) => {
  withStore((store, path) => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    store.listEvents({ limit: 1 }); // loads the (empty) tail before the appends
    for (let i = 0; i < 600; i++) {
      store.appendEvent(
        { type: 'service', service: pick(['a', 'b', null]), container: null, node: null, message: `e${i}` },
        Math.floor(random() * 1000),
      );
      if (i % 150 === 149) store.pruneEvents(200);
    }
    const fresh = new SqliteStore(path);
    t.after(() => fresh.close());
    const compare = () => {
      const last = store.listEvents({ limit: 1 })[0]?.id ?? 0;
      for (let q = 0; q < 200; q++) {
        const query = {
          afterId: random() < 0.5 ? Math.floor(random() * (last + 5)) : undefined,
          sinceMs: random() < 0.3 ? Math.floor(random() * 1000) : undefined,
          service: random() < 0.5 ? pick(['a', 'b']) : undefined,
          limit: pick([1, 5, 50, 1000]),
        };
        assert.deepEqual(store.listEvents(query), fresh.listEvents(query), JSON.stringify(query));
      }
    };
    compare();
    assert.throws(() =>
      store.transaction(() => {
        store.appendEvent({ type: 'node', service: null, container: null, node: null, message: 'gone' }, 1);
        throw new Error('abandoned');
      }),
    );
    compare();
    assert.ok(!store.listEvents({ limit: 1000 }).some((e) => e.message === 'gone'));
  });
});

test('tasksOnNode follows placements, deletions and a rolled-back transaction', () => {
  withStore((store) => {
    const task = (id: string, nodeId: string | null) => unplacedTask(id, { nodeId });
    const on = (nodeId: string) =>
      store
        .tasksOnNode(nodeId)
        .map((t) => t.id)
        .sort();
    store.insertTask(task('a', 'n1'));
    assert.deepEqual(on('n1'), ['a']);
    store.insertTask(task('b', 'n1'));
    store.insertTask(task('c', null));
    assert.deepEqual(on('n1'), ['a', 'b']);
    store.placeTask('b', 'n2', null);
    store.placeTask('c', 'n2', null);
    assert.deepEqual([on('n1'), on('n2')], [['a'], ['b', 'c']]);
    store.deleteTask('a');
    assert.deepEqual(on('n1'), []);
    assert.throws(() =>
      store.transaction(() => {
        store.placeTask('b', 'n3', null);
        throw new Error('rolled back');
      }),
    );
    assert.deepEqual([on('n2'), on('n3')], [['b', 'c'], []], 'the index is the table’s after a rollback');
  });
});

test('a service write re-reads that service alone: the others keep their records, in name order', () =>
  withStore((store) => {
    store.putService({ ...spec, name: 'web' }, 1);
    store.putService({ ...spec, name: 'db' }, 1);
    const [db, web] = store.listServices();
    store.setReplicas('web', 5, 2);
    const after = store.listServices();
    assert.equal(after[0], db, 'db untouched: the same record');
    assert.notEqual(after[1], web);
    assert.equal(after[1]?.spec.replicas, 5);
    store.putService({ ...spec, name: 'cache' }, 3);
    assert.deepEqual(
      store.listServices().map((s) => s.spec.name),
      ['cache', 'db', 'web'],
    );
    store.deleteService('db');
    assert.deepEqual(
      store.listServices().map((s) => s.spec.name),
      ['cache', 'web'],
    );
  }));

test('the placement version grows with inserts, placements, desired states, deletes and rollbacks, not with observed state', () => {
  withStore((store) => {
    store.putService(spec, 0);
    const grew = (what: string, write: () => void, by = true) => {
      const before = store.placementVersion;
      write();
      assert.equal(store.placementVersion > before, by, what);
    };
    const task = { ...unplacedTask('t1'), pendingReason: 'no node', createdAt: 0 };
    grew('insert', () => store.insertTask(task));
    grew('placement', () => store.placeTask('t1', 'n1', null));
    grew('observed state', () => store.setObserved('t1', null), false);
    grew('desired state', () => store.setDesiredState('t1', 'shutdown'));
    grew('rollback', () =>
      assert.throws(() =>
        store.transaction(() => {
          store.setObserved('t1', null);
          throw new Error('abort');
        }),
      ),
    );
    grew('delete', () => store.deleteTask('t1'));
  });
});
