/**
 * The converge loop of a restarted agent, on the simulator's fake engine: the assignment restored
 * from disk keeps what still runs and starts nothing else until the server's own assignment comes
 * (which may have moved those replicas elsewhere while the node was away), or until the hold's
 * bound passes with the server still away; then it restarts them as before (restored-hold.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import type { ContainerDefinition } from '../docker/container-engine.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { FakeEngine } from '../sim/fake-engine.ts';
import type { LoopReport } from './converge-loop.ts';
import { ConvergeLoop } from './converge-loop.ts';

const CLUSTER = 'cluster-1';

/** The fake engine, counting every list, create and start. */
class CountingEngine extends FakeEngine {
  lists = 0;
  creates = 0;
  starts = 0;
  override async listManaged(clusterId: string) {
    this.lists++;
    return await super.listManaged(clusterId);
  }
  override async createContainer(definition: ContainerDefinition): Promise<string> {
    this.creates++;
    return await super.createContainer(definition);
  }
  override async startContainer(id: string): Promise<void> {
    this.starts++;
    await super.startContainer(id);
  }
}

function task(slot: number): TaskSpec {
  return {
    task_id: `web-task-${slot}`,
    service: 'web',
    slot,
    revision: 1,
    spec: serviceSpecSchema.parse({ name: 'web', image: 'img', update: { drain_timeout: '0s' } }),
    networks: [{ name: 'default', index: 0 }],
  };
}

const ALL = [task(0), task(1), task(2)];

function loopOn(engine: FakeEngine) {
  const reports: LoopReport[] = [];
  const loop = new ConvergeLoop({
    engine,
    clusterId: CLUSTER,
    pool: DEFAULT_POOL,
    nodeId: 'node-1',
    concurrency: 4,
    resyncIntervalMs: 60_000,
    stableAfterMs: 10_000,
    now: Date.now,
    onReport: (report) => reports.push(report),
    onError: (error) => assert.fail(String(error)),
  });
  return { loop, reports };
}

const states = (engine: FakeEngine) =>
  engine
    .snapshot()
    .map((c) => `${c.taskId}:${c.state}:${c.id}`)
    .sort();

/**
 * Three replicas ran; the agent died, and two of them with it (its host was killed: the engine
 * came back with them exited); one still runs. Returns the engine and what it holds.
 */
async function afterAHostCameBack(): Promise<{ engine: CountingEngine; before: string[]; liveId: string }> {
  const engine = new CountingEngine();
  const first = loopOn(engine);
  first.loop.start();
  try {
    first.loop.setDesired(ALL, { fromServer: true });
    await eventually('three running', () => engine.runningIds().length === 3);
  } finally {
    first.loop.stop();
  }
  const [live, ...dead] = engine.snapshot().sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
  for (const c of dead) engine.kill(c.id);
  engine.creates = 0;
  engine.starts = 0;
  return { engine, before: states(engine), liveId: live?.id ?? '' };
}

test('restored: nothing starts before the server answers; its assignment moved two replicas away: they never run here', async () => {
  const { engine, before, liveId } = await afterAHostCameBack();
  const { loop, reports } = loopOn(engine);
  loop.setDesired(ALL, { fromServer: false, holdStartsForMs: 60_000 });
  loop.start();
  try {
    // Its first passes have looked (and reported the exits) and done nothing.
    await eventually('the restored loop has looked', () =>
      reports.some((r) => r.events.some((e) => e.message.includes('exited with code 137'))),
    );
    // Two more passes: anything the first had launched would have reached the engine by then.
    for (const passes of [engine.lists + 1, engine.lists + 2]) {
      loop.trigger();
      await eventually(`${passes} lists`, () => engine.lists >= passes);
    }
    assert.deepEqual(states(engine), before, 'the same containers, in the same states');
    assert.equal(engine.creates + engine.starts, 0, 'nothing created or started');
    // The server's assignment: the node was called down while it was away, its slots 1 and 2 moved.
    loop.setDesired([task(0)], { fromServer: true });
    await eventually('only the replica that kept running is left', () => {
      const s = states(engine);
      return s.join() === `web-task-0:running:${liveId}` ? s : undefined;
    });
    assert.equal(engine.creates + engine.starts, 0, 'the moved replicas never ran here');
  } finally {
    loop.stop();
  }
});

test('restored: the server’s assignment still names them: they start at once, the running one untouched', async () => {
  const { engine, liveId } = await afterAHostCameBack();
  const { loop } = loopOn(engine);
  loop.setDesired(ALL, { fromServer: false, holdStartsForMs: 60_000 });
  loop.start();
  try {
    loop.setDesired(ALL, { fromServer: true });
    await eventually(
      'three running again',
      () => engine.runningIds().length === 3 && engine.snapshot().length === 3,
      { timeoutMs: 5_000 },
    );
    assert.ok(engine.runningIds().includes(liveId), 'the replica that kept running is the same container');
    assert.equal(engine.creates, 2, 'one replacement each for the two that died');
  } finally {
    loop.stop();
  }
});

test('restored, and the server stays away: past the bound the saved assignment restarts them', async () => {
  const { engine, liveId } = await afterAHostCameBack();
  const { loop } = loopOn(engine);
  const holdMs = 300;
  const restoredAt = Date.now();
  loop.setDesired(ALL, { fromServer: false, holdStartsForMs: holdMs });
  loop.start();
  try {
    await eventually('three running again', () =>
      engine.runningIds().length === 3 && engine.snapshot().length === 3 ? Date.now() : undefined,
    );
    assert.ok(Date.now() - restoredAt >= holdMs, 'not before the bound');
    assert.ok(engine.runningIds().includes(liveId), 'the replica that kept running is the same container');
    assert.equal(engine.creates, 2);
  } finally {
    loop.stop();
  }
});
