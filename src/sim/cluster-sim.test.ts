import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterSim, InvariantViolation } from './cluster-sim.ts';
import { replayCommand, runScenario, SCENARIOS } from './scenarios.ts';

/** Small clusters, fixed seeds: every scenario in seconds. `npm run sim` runs more and larger. */
const NODES = 10;

for (const scenario of Object.keys(SCENARIOS)) {
  for (const seed of [1, 2]) {
    test(`scenario ${scenario}, seed ${seed}: every invariant holds and the cluster settles`, async () => {
      const result = await runScenario(scenario, { seed, nodes: NODES });
      assert.ok(result.passes > 0);
    });
  }
}

test('the same seed gives the same trace; another seed another', async () => {
  const a = await runScenario('nodes-die', { seed: 5, nodes: NODES });
  const b = await runScenario('nodes-die', { seed: 5, nodes: NODES });
  const c = await runScenario('nodes-die', { seed: 6, nodes: NODES });
  assert.deepEqual(a.trace, b.trace);
  assert.notDeepEqual(a.trace, c.trace);
});

test('a broken invariant stops the run with what broke and the command that replays it', async () => {
  const sim = new ClusterSim({ seed: 1, nodes: 10 });
  sim.replay = replayCommand('deploy', { seed: 1, nodes: 10 });
  try {
    await sim.start();
    await sim.deploy({ name: 'web', image: 'sim:v1', replicas: 3 });
    await sim.settle(10_000);
    const [task] = sim.store.listTasks();
    assert.ok(task);
    // What a buggy pass might write: a replica placed on a node that does not exist.
    sim.store.placeTask(task.id, 'ghost', null);
    await assert.rejects(
      sim.run(1_000),
      (error) =>
        error instanceof InvariantViolation &&
        /meant to run on ghost, a node the server does not know/.test(error.message) &&
        error.message.includes('replay: npm run sim -- --scenario deploy --seed 1 --nodes 10'),
    );
  } finally {
    sim.close();
  }
});

test('a cluster that cannot converge (no room) fails its settle with the reason', async () => {
  const sim = new ClusterSim({ seed: 1, nodes: 10, cpuMillicores: 100 });
  try {
    await sim.start();
    await sim.deploy({ name: 'big', image: 'sim:v1', replicas: 1, resources: { cpus: 1 } });
    await assert.rejects(sim.settle(5_000), /did not converge within 5000 ms: big-0 is not placed/);
  } finally {
    sim.close();
  }
});

test('simulated nodes report their images, and the scheduler prefers a node that has a large one', async () => {
  // 800 MB on one node of four counts as 200 MB: past Kubernetes' 23 MB floor.
  const sim = new ClusterSim({ seed: 3, nodes: 4, imageSizeBytes: 800 * 1024 * 1024 });
  try {
    await sim.start();
    await sim.deploy({ name: 'big', image: 'sim:v1', replicas: 1 });
    await sim.settle(10_000);
    const [holder] = sim.images
      .list()
      .filter((n) => n.images.some((i) => i.repo_tags.includes('sim:v1')))
      .map((n) => n.nodeId);
    assert.ok(holder, JSON.stringify(sim.images.list()));
    // A second service on the same image: every node equal but for the image.
    await sim.deploy({ name: 'again', image: 'sim:v1', replicas: 1 });
    await sim.settle(10_000);
    const placed = sim.store.listTasks().find((t) => t.service === 'again');
    assert.equal(placed?.nodeId, holder);
  } finally {
    sim.close();
  }
});
