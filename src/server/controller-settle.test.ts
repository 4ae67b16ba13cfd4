/**
 * The controller's loop as writers see it: a write, a trigger, and `settle()` resolving once a
 * pass that saw the write has run; triggers in one turn coalesce into one pass; a failing pass
 * still lets its waiters go.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { Cluster } from './cluster.ts';
import { Controller } from './controller.ts';
import { EventLog } from './event-log.ts';
import { DEFAULT_LIVENESS } from './node-liveness.ts';

function withController(
  fn: (deps: {
    store: SqliteStore;
    controller: Controller;
    passes: number[];
    logged: string[];
  }) => Promise<void>,
  options: { now?: () => number } = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-controller-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  const passes: number[] = [];
  const logged: string[] = [];
  const now = options.now ?? (() => 1_000_000);
  const controller = new Controller({
    store,
    cluster: new Cluster(store, 0),
    events: new EventLog(store),
    liveness: DEFAULT_LIVENESS,
    addressPool: DEFAULT_POOL,
    now,
    log: (message) => logged.push(message),
    onPass: (ms) => passes.push(ms),
  });
  return fn({ store, controller, passes, logged }).finally(() => {
    controller.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

const spec = serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', replicas: 2 });

test('settle resolves after a pass that includes the write made before it', () =>
  withController(async ({ store, controller, passes }) => {
    store.putService(spec, 1);
    assert.equal(store.listTasks().length, 0, 'nothing runs inside the write');
    await controller.settle();
    assert.equal(passes.length, 1);
    assert.deepEqual(
      store.listTasks().map((t) => [t.slot, t.pendingReason]),
      [
        [0, 'no nodes have joined the cluster'],
        [1, 'no nodes have joined the cluster'],
      ],
    );
  }));

test('writers in one turn share one pass', () =>
  withController(async ({ store, controller, passes }) => {
    store.putService(spec, 1);
    const waits = [controller.settle(), controller.settle(), controller.settle()];
    controller.trigger();
    await Promise.all(waits);
    assert.equal(passes.length, 1);
  }));

test('a failing pass still lets its waiters go, and says why', () => {
  let broken = false;
  return withController(
    async ({ controller, logged }) => {
      broken = true;
      const startedAt = performance.now();
      await controller.settle(10_000);
      assert.ok(performance.now() - startedAt < 5000, 'not held until the timeout');
      assert.match(logged.join('\n'), /reconcile failed: Error: clock broken/);
    },
    {
      now: () => {
        if (broken) throw new Error('clock broken');
        return 1_000_000;
      },
    },
  );
});

test('after a slow pass the next waits as long: passes take at most half the event loop', () => {
  let slow = false;
  const busyMs = 40;
  return withController(
    async ({ controller, passes }) => {
      slow = true;
      await controller.settle();
      const firstEnded = performance.now();
      let turns = 0;
      const counting = setInterval(() => turns++, 1);
      await controller.settle();
      clearInterval(counting);
      assert.equal(passes.length, 2);
      assert.ok((passes[0] ?? 0) >= busyMs, `the first pass was slow: ${passes[0]} ms`);
      assert.ok(performance.now() - firstEnded >= busyMs * 2 - 5, 'waited, then ran a slow pass');
      assert.ok(turns >= 5, `the event loop turned meanwhile: ${turns}`);
    },
    {
      now: () => {
        if (slow) {
          const until = performance.now() + busyMs;
          while (performance.now() < until) {
            // A pass that costs busyMs of CPU.
          }
        }
        return 1_000_000;
      },
    },
  );
});
