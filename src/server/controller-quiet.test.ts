/**
 * The tick skips a pass only when nothing a pass reads changed and the last one was quiet
 * (pass-quiet.ts): a write after a skipped tick is still planned, a node going silent is still
 * seen once its heartbeat timeout is over, and a change to a node's session runs the next tick.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { AGENT_FEATURES } from '../protocol/features.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { AgentLink } from './cluster.ts';
import { Cluster } from './cluster.ts';
import type { ControllerOptions } from './controller.ts';
import { Controller, REPORT_PASS_PACE } from './controller.ts';
import { EventLog } from './event-log.ts';
import { DEFAULT_LIVENESS } from './node-liveness.ts';
import { GiB, registration, running, service } from './pass-fixture.ts';

/** Room for every replica the tests deploy (four of pass-fixture's 0.5 CPU). */
const NODE_A = registration('a', { cpu_millicores: 4000, memory_bytes: 8 * GiB });

interface Fixture {
  readonly store: SqliteStore;
  readonly cluster: Cluster;
  readonly controller: Controller;
  readonly clock: { now: number };
  readonly passes: number[];
  readonly sent: ServerMessage[];
}

async function withController(
  fn: (fixture: Fixture) => Promise<void>,
  options: Partial<ControllerOptions> = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-controller-quiet-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  const clock = { now: 1_000_000 };
  const cluster = new Cluster(store, clock.now);
  const passes: number[] = [];
  const sent: ServerMessage[] = [];
  cluster.connect(NODE_A, { send: (m) => sent.push(m), close() {} }, clock.now, AGENT_FEATURES);
  const controller = new Controller({
    store,
    cluster,
    events: new EventLog(store),
    liveness: DEFAULT_LIVENESS,
    addressPool: DEFAULT_POOL,
    now: () => clock.now,
    log: () => {},
    onPass: (ms) => passes.push(ms),
    ...options,
  });
  try {
    await fn({ store, cluster, controller, clock, passes, sent });
  } finally {
    controller.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lets a scheduled pass run (it is set off with setImmediate, or a short timeout after a pass). */
const turns = () => new Promise((resolve) => setTimeout(resolve, 20));

const spec = service('web', 2).spec;

/** Two ticks of a converged cluster run no pass. */
async function assertTwoTicksSkipped({ controller, passes }: Fixture): Promise<void> {
  const before = passes.length;
  controller.tick();
  await turns();
  controller.tick();
  await turns();
  assert.equal(passes.length, before, 'no pass while nothing changed');
  assert.equal(controller.passesSkipped, 2);
}

/** Passes until one decides nothing (the first places and sends; the next sees it done). */
async function converge({ controller }: Fixture): Promise<void> {
  for (let i = 0; i < 3; i++) await controller.settle();
}

test('a converged cluster: the tick skips its pass until something changes', () =>
  withController(async (fixture) => {
    await converge(fixture);
    await assertTwoTicksSkipped(fixture);
  }));

test('a write after a skipped tick is still planned: its trigger runs a pass', () =>
  withController(async (fixture) => {
    const { controller, store, sent, passes } = fixture;
    await converge(fixture);
    controller.tick();
    await turns();
    assert.equal(controller.passesSkipped, 1);
    const before = passes.length;
    store.putService(spec, 2);
    controller.trigger();
    await turns();
    assert.equal(passes.length, before + 1);
    assert.deepEqual(
      store.listTasks().map((t) => [t.slot, t.nodeId]),
      [
        [0, 'a'],
        [1, 'a'],
      ],
    );
    const last = sent.filter((m) => m.type === 'assign').at(-1);
    assert.equal(last?.type === 'assign' ? last.tasks.length : -1, 2, 'the node was sent its replicas');
  }));

test('the tick runs a pass once the quiet time is over (a node may have gone silent)', () =>
  withController(async (fixture) => {
    const { controller, passes } = fixture;
    await converge(fixture);
    controller.tick();
    await turns();
    assert.equal(controller.passesSkipped, 1, 'quiet');
    fixture.clock.now += DEFAULT_LIVENESS.heartbeatTimeoutMs + 1;
    const before = passes.length;
    controller.tick();
    await turns();
    assert.equal(passes.length, before + 1, 'the heartbeat timeout passed: the tick ran a pass');
  }));

test('while every node beats, the quiet time moves on with the beats: no pass until the safety pass', () =>
  withController(async (fixture) => {
    const { controller, cluster, clock, passes } = fixture;
    await converge(fixture);
    const before = passes.length;
    // Five timeouts' worth of time, a beat every third of one: a pass each time would be
    // planned on the same statuses, so decide nothing.
    for (let i = 0; i < 15; i++) {
      clock.now += DEFAULT_LIVENESS.heartbeatTimeoutMs / 3;
      cluster.heartbeat('a', clock.now);
      controller.tick();
      await turns();
    }
    assert.equal(passes.length, before, 'no pass while the node beats');
    assert.equal(controller.passesSkipped, 15);
    // A beat missed past the timeout: the next tick runs a pass, which calls the node unreachable.
    clock.now += DEFAULT_LIVENESS.heartbeatTimeoutMs + 1;
    controller.tick();
    await turns();
    assert.equal(passes.length, before + 1);
    assert.equal(cluster.get('a')?.status, 'unreachable');
  }));

test('a silent node is still called unreachable, and its beat after that runs the next tick', () =>
  withController(async (fixture) => {
    const { controller, cluster, clock, passes } = fixture;
    await converge(fixture);
    clock.now += DEFAULT_LIVENESS.heartbeatTimeoutMs + 1;
    controller.tick();
    await turns();
    assert.equal(cluster.get('a')?.status, 'unreachable');
    // Once a pass found nothing new to do, the ticks inside its grace run none.
    await converge(fixture);
    const before = passes.length;
    controller.tick();
    await turns();
    assert.equal(passes.length, before, 'quiet until its grace ends');
    // A silent node's beat changes the cluster's version: the next tick runs a pass.
    cluster.heartbeat('a', clock.now);
    controller.tick();
    await turns();
    assert.equal(cluster.get('a')?.status, 'ready');
    // Back to quiet once a pass has sent it what it needs and the next found nothing to do.
    await converge(fixture);
    const settled = passes.length;
    controller.tick();
    await turns();
    assert.equal(passes.length, settled);
  }));

test('a change to a node session (cordon) runs the next tick without a trigger', () =>
  withController(async (fixture) => {
    const { controller, cluster, passes } = fixture;
    await converge(fixture);
    const before = passes.length;
    cluster.setAvailability('a', 'cordoned');
    controller.tick();
    await turns();
    assert.equal(passes.length, before + 1);
  }));

test('a converged cluster with a global service idles too: the tick skips its pass', () =>
  withController(async (fixture) => {
    const { controller, store } = fixture;
    store.putService(service('node-exporter', 1, { mode: 'global' }).spec, 1);
    store.putService(spec, 1);
    controller.trigger();
    await converge(fixture);
    const tasks = store.listTasks();
    assert.deepEqual(tasks.map((t) => `${t.service}/${t.slot}@${t.nodeId}`).sort(), [
      'node-exporter/0@a',
      'web/0@a',
      'web/1@a',
    ]);
    // Its agent says they run: both rollouts complete.
    controller.applyReport('a', {
      type: 'report',
      generation: 1,
      full: true,
      removed: [],
      events: [],
      tasks: tasks.map((t) => running(t.id)),
    });
    // Their endpoints go out once their pace is over; the node beats meanwhile.
    fixture.clock.now += 1000;
    fixture.cluster.heartbeat('a', fixture.clock.now);
    await converge(fixture);
    assert.deepEqual(
      store.listServices().map((s) => s.rollout?.state),
      ['complete', 'complete'],
    );
    await assertTwoTicksSkipped(fixture);
  }));

/** A report that changes nothing: a pass is asked for by reports alone. */
const EMPTY_REPORT = {
  type: 'report' as const,
  generation: 1,
  full: false,
  tasks: [],
  removed: [],
  events: [],
};

/** Busy for `ms` (inside a pass, so the pass takes that long). */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
}

test('a pass for reports alone waits REPORT_PASS_PACE times the last pass; a write takes it along sooner', () => {
  const passMs = 30;
  return withController(
    async (fixture) => {
      const { controller, passes } = fixture;
      await converge(fixture);
      const report = EMPTY_REPORT;
      const before = passes.length;
      controller.applyReport('a', report);
      const askedAt = performance.now();
      // Timers only ever fire late: the report's pass cannot have run before its pace.
      await eventually("the report's pass", () => passes.length > before, {
        timeoutMs: 10_000,
        intervalMs: 5,
      });
      assert.ok(
        performance.now() - askedAt >= (REPORT_PASS_PACE - 1) * passMs,
        `ran ${Math.round(performance.now() - askedAt)} ms after the report, the last pass took ${passes.at(-2)} ms`,
      );
      // A write after a report: one pass, for both, at the write's pace.
      const next = passes.length;
      controller.applyReport('a', report);
      controller.trigger();
      await eventually("the write's pass", () => passes.length > next, { timeoutMs: 10_000, intervalMs: 5 });
      await turns();
      assert.equal(passes.length, next + 1, 'the report waited for no pass of its own');
    },
    { onPlan: () => busy(passMs) },
  );
});

test("the tick does not wait out a report's pace: the pass waiting for it runs at the usual one", () => {
  const passMs = 150;
  return withController(
    async (fixture) => {
      const { controller, passes } = fixture;
      await converge(fixture);
      const before = passes.length;
      controller.applyReport('a', EMPTY_REPORT);
      const askedAt = performance.now();
      controller.tick();
      await eventually('the pass', () => passes.length > before, { timeoutMs: 10_000, intervalMs: 5 });
      const waitedMs = performance.now() - askedAt;
      assert.ok(
        waitedMs < (REPORT_PASS_PACE - 0.5) * passMs,
        `ran ${Math.round(waitedMs)} ms after the tick`,
      );
      assert.equal(passes.length, before + 1);
    },
    { onPlan: () => busy(passMs) },
  );
});

test("a node is called down when its grace ends, not at the loop's next tick", async () => {
  // A real clock: the pass that calls it down is the controller's own timer, not a test's tick.
  const liveness = { heartbeatTimeoutMs: 100, downAfterMs: 200 };
  await withController(
    async ({ cluster, controller }) => {
      const link = cluster.get('a')?.link;
      assert.ok(link);
      // A tick far apart: only the grace's own pass can call the node down in time.
      controller.start(60_000);
      await turns();
      const droppedAt = Date.now();
      assert.ok(cluster.disconnect('a', link, droppedAt));
      controller.trigger();
      await turns();
      assert.equal(cluster.get('a')?.status, 'unreachable');
      await eventually('the node to be down', () => cluster.get('a')?.status === 'down', {
        timeoutMs: 2000,
        intervalMs: 5,
      });
      // Within the 2 s above, with the tick a minute away: the grace's own pass. Not before the
      // grace (how late after it is the bench's to measure, not a unit test's under CI's load).
      const sinceDropMs = Date.now() - droppedAt;
      assert.ok(sinceDropMs >= liveness.downAfterMs, `down ${sinceDropMs} ms after the drop`);
    },
    { liveness, now: Date.now },
  );
});

test('a trigger that asks for a delay gathers what comes meanwhile into one pass', async () => {
  await withController(async ({ controller, passes }) => {
    controller.sync();
    const before = passes.length;
    controller.trigger(60);
    controller.trigger(60);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(passes.length, before, 'not before its delay');
    await eventually('the pass', () => passes.length > before, { timeoutMs: 2000, intervalMs: 5 });
    await turns();
    assert.equal(passes.length, before + 1, 'one pass for both');
  });
});

/**
 * Three nodes, a spread service on all of them, and c's link dropped: the passes until one decides
 * nothing (the first calls c unreachable and prepares its replica on a or b, the next see it sent).
 */
async function withSilentNode(
  fn: (
    fixture: Fixture & { readonly toTargets: () => ServerMessage[]; readonly graceEnds: number },
  ) => Promise<void>,
): Promise<void> {
  await withController(async (fixture) => {
    const { store, cluster, controller, clock, sent } = fixture;
    const others: ServerMessage[] = [];
    const linkOf = (): AgentLink => ({ send: (m) => others.push(m), close() {} });
    const links = { b: linkOf(), c: linkOf() };
    cluster.connect(
      registration('b', { cpu_millicores: 4000, memory_bytes: 8 * GiB, address: '10.0.0.2' }),
      links.b,
      clock.now,
      AGENT_FEATURES,
    );
    cluster.connect(
      registration('c', { cpu_millicores: 4000, memory_bytes: 8 * GiB, address: '10.0.0.3' }),
      links.c,
      clock.now,
      AGENT_FEATURES,
    );
    store.putService(service('web', 3, { placement: { strategy: 'spread' } }).spec, 1);
    controller.trigger();
    await converge(fixture);
    assert.deepEqual(
      store
        .listTasks()
        .map((t) => t.nodeId)
        .sort(),
      ['a', 'b', 'c'],
    );
    // Their agents say they run: the rollout completes, and its endpoints go out after their pace.
    for (const name of ['a', 'b', 'c'])
      controller.applyReport(name, {
        ...EMPTY_REPORT,
        full: true,
        tasks: store.tasksOnNode(name).map((t) => running(t.id)),
      });
    clock.now += 1000;
    for (const name of ['a', 'b', 'c']) cluster.heartbeat(name, clock.now);
    await converge(fixture);
    assert.equal(store.listServices()[0]?.rollout?.state, 'complete');
    assert.ok(cluster.disconnect('c', links.c, clock.now));
    const graceEnds = clock.now + DEFAULT_LIVENESS.downAfterMs;
    controller.trigger();
    await converge(fixture);
    assert.equal(cluster.get('c')?.status, 'unreachable');
    // The endpoints without c's replica go out once their pace is over.
    clock.now += 250;
    for (const name of ['a', 'b']) cluster.heartbeat(name, clock.now);
    await converge(fixture);
    const prepares = () => [...sent, ...others].filter((m) => m.type === 'prepare');
    assert.deepEqual(
      prepares().map((m) => (m.type === 'prepare' ? m.tasks.length : -1)),
      [1],
      "c's replica prepared on one other node",
    );
    await fn({ ...fixture, toTargets: prepares, graceEnds });
  });
}

/** Ticks every 250 ms through `ms`, a and b beating, c silent: how many ran a pass. */
async function ticksThrough(fixture: Fixture, ms: number): Promise<number> {
  const { controller, cluster, clock, passes } = fixture;
  const before = passes.length;
  for (let t = 0; t < ms; t += 250) {
    clock.now += 250;
    cluster.heartbeat('a', clock.now);
    cluster.heartbeat('b', clock.now);
    controller.tick();
    await turns();
  }
  return passes.length - before;
}

test('inside a grace, once its replicas are prepared and sent, the ticks run no pass; its end still calls it down', () =>
  withSilentNode(async (fixture) => {
    const { cluster, clock, store, graceEnds } = fixture;
    // The rest of the grace, ten ticks: the pass at the ready nodes' silence bound (the beats since
    // move it on, c's grace has the controller ask a pass) is the one that runs.
    const ran = await ticksThrough(fixture, 2500);
    assert.ok(ran <= 1, `${ran} of 10 ticks ran a pass`);
    assert.equal(cluster.get('c')?.status, 'unreachable');
    await ticksThrough(fixture, graceEnds + 1 - clock.now);
    assert.equal(cluster.get('c')?.status, 'down');
    const running = store.listTasks().filter((t) => t.desiredState === 'running');
    assert.ok(!running.some((t) => t.nodeId === 'c'), "c's replica runs elsewhere");
    assert.equal(running.length, 3);
  }));

test('inside a grace, a node back on a new link runs the next tick: its preparations are dropped at once', () =>
  withSilentNode(async (fixture) => {
    const { cluster, clock, controller, passes, toTargets } = fixture;
    assert.equal(await ticksThrough(fixture, 1000), 0, 'quiet inside the grace');
    cluster.connect(
      registration('c', { cpu_millicores: 4000, memory_bytes: 8 * GiB, address: '10.0.0.3' }),
      { send() {}, close() {} },
      clock.now,
      AGENT_FEATURES,
    );
    const before = passes.length;
    controller.tick();
    await turns();
    assert.equal(passes.length, before + 1, 'the session changed: the tick ran a pass');
    assert.equal(cluster.get('c')?.status, 'ready');
    const last = toTargets().at(-1);
    assert.deepEqual(last?.type === 'prepare' ? last.tasks : undefined, [], 'the target told to drop it');
  }));
