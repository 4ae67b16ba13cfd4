import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAddressPool } from '../../model/addressing.ts';
import { SqliteStore } from '../../store/sqlite-store.ts';
import type { WriteGuard } from '../../store/store.ts';
import { Cluster } from '../cluster.ts';
import { Controller } from '../controller.ts';
import { EventLog } from '../event-log.ts';
import { LogBroker } from '../log-broker.ts';
import { DEFAULT_LIVENESS, STARTUP_GRACE_MS } from '../node-liveness.ts';
import { LeaderDuties } from './leader-duties.ts';

const dir = mkdtempSync(join(tmpdir(), 'skiff-duties-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('leading: guard on, nodes reloaded with a fresh grace, controller resumed, an event; following: all undone, guard last', () => {
  const store = new SqliteStore(join(dir, 'skiff.db'));
  const guards: (WriteGuard | null)[] = [];
  const setWriteGuard = store.setWriteGuard.bind(store);
  store.setWriteGuard = (guard) => {
    guards.push(guard);
    setWriteGuard(guard);
  };
  let clock = 1_000_000;
  const now = () => clock;
  store.upsertNode(
    'h1',
    {
      name: 'h1',
      engine_id: 'e1',
      address: '10.0.0.1',
      labels: {},
      cpu_millicores: 1000,
      memory_bytes: 1 << 30,
      engine_version: '20.10',
    },
    0,
  );
  const cluster = new Cluster(store, now());
  const events = new EventLog(store);
  const controller = new Controller({
    store,
    cluster,
    events,
    liveness: DEFAULT_LIVENESS,
    addressPool: parseAddressPool('10.240.0.0/12'),
    now,
    log: () => {},
  });
  controller.pause();
  let reconsidered = 0;
  const order: string[] = [];
  const duties = new LeaderDuties({
    store,
    cluster,
    controller,
    events,
    logs: new LogBroker(cluster),
    gateway: () => ({
      reconsider: () => {
        reconsidered++;
        order.push(`reconsider (paused: ${controller.paused})`);
      },
      close: () => {},
    }),
    guardKey: '/skiff/ha/leader',
    selfId: 's2',
    now,
    log: () => {},
  });

  duties.leaderChanged({ id: 's1', url: 'https://s1:8080', since: 1, lease: '5' });
  clock += 60_000;
  duties.start(clock, '77');
  assert.deepEqual(guards.at(-1), { key: '/skiff/ha/leader', leaseId: '77' });
  assert.equal(controller.paused, false);
  const node = cluster.get('h1');
  assert.equal(node?.status, 'unreachable');
  assert.equal(node?.downNotBefore, clock + STARTUP_GRACE_MS, 'every node gets the grace from the takeover');
  const last = store.listEvents({ limit: 1 })[0];
  assert.equal(last?.type, 'server');
  assert.match(last?.message ?? '', /Server s2 is the leader \(after s1\)/);

  duties.stop('the lease could not be renewed in time');
  assert.equal(controller.paused, true);
  assert.equal(guards.at(-1), null, 'the guard goes last, after the controller stopped');
  assert.deepEqual(order.slice(-1), ['reconsider (paused: true)']);
  assert.equal(reconsidered, 3);
  controller.stop();
  void store.close();
});
