/**
 * Skiff's own processes die with SIGKILL at awkward moments and come back: nothing is lost,
 * nothing is duplicated, running containers are adopted (same ids), and the data plane keeps
 * going while the control plane is away.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { docker } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let skiff: SkiffCluster;

async function view(name: string): Promise<ServiceView> {
  return serviceViewSchema.parse((await skiff.api('GET', `/api/services/${name}`)).body);
}

/** Converged per Skiff and per Docker: n running containers, one per slot, one per task. */
async function converged(name: string, replicas: number): Promise<string[]> {
  return await eventually(
    `${name} to converge on ${replicas} replicas`,
    async () => {
      const v = await view(name);
      const containers = await skiff.containers(name);
      const runningInDocker = containers.filter((c) => c.state === 'running');
      if (v.status !== 'running' || containers.length !== replicas || runningInDocker.length !== replicas)
        return undefined;
      assert.equal(new Set(containers.map((c) => c.slot)).size, replicas, 'one container per slot');
      assert.equal(new Set(containers.map((c) => c.task)).size, replicas, 'one container per task');
      return containers.map((c) => c.id).sort();
    },
    { timeoutMs: 60_000 },
  );
}

describe('restarts of skiff itself', { timeout: 300_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('split');
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-60).join('\n'));
    await skiff?.stop();
  });

  test('server killed mid-deploy: restarted, it converges with no duplicates', async () => {
    const deployed = await skiff.api('POST', '/api/deploy', {
      name: 'alpha',
      image: 'skiff-demo:v1',
      replicas: 6,
    });
    assert.equal(deployed.status, 201);
    await skiff.kill('server');
    await skiff.startServer();
    await converged('alpha', 6);
  });

  test('agent killed mid-deploy: restarted, it adopts what it made and finishes', async () => {
    await skiff.api('POST', '/api/deploy', { name: 'beta', image: 'skiff-demo:v1', replicas: 6 });
    await eventually('a first beta container', async () => (await skiff.containers('beta')).length > 0, {
      intervalMs: 5,
    });
    await skiff.kill('agent');
    await skiff.startAgent();
    await converged('beta', 6);
  });

  test('a converged service survives kill -9 of agent and server: same containers, no restarts', async () => {
    const before = await converged('alpha', 6);
    await skiff.kill('agent');
    await skiff.startAgent();
    await skiff.waitForNode();
    await skiff.kill('server');
    await skiff.startServer();
    await skiff.waitForNode();
    const after = await converged('alpha', 6);
    assert.deepEqual(after, before, 'the same containers were adopted');
    assert.ok((await view('alpha')).containers.every((c) => c.restart_count === 0));
  });

  test('SIGTERM stops agent and server cleanly (exit 0) and leaves the containers running', async () => {
    const before = await converged('alpha', 6);
    for (const which of ['agent', 'server'] as const) {
      const child = which === 'agent' ? skiff.agent : skiff.server;
      assert.ok(child);
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `${which} exit code`);
    }
    const running = (await skiff.containers('alpha')).filter((c) => c.state === 'running');
    assert.deepEqual(
      running.map((c) => c.id).sort(),
      before,
      'the containers belong to the cluster, not the process',
    );
    await skiff.startServer();
    await skiff.startAgent();
    await skiff.waitForNode();
    assert.deepEqual(await converged('alpha', 6), before);
  });

  test('with the server down the agent still replaces a crashed replica, once', async () => {
    const before = await converged('beta', 6);
    await skiff.kill('server');
    const victim = (await skiff.containers('beta')).find((c) => c.slot === 2);
    assert.ok(victim);
    await docker.getContainer(victim.id).kill();
    await eventually('the agent to replace beta-2 on its own', async () => {
      const now = (await skiff.containers('beta')).filter((c) => c.slot === 2);
      return now.length === 1 && now[0]?.state === 'running' && now[0].id !== victim.id;
    });
    await skiff.startServer();
    await skiff.waitForNode();
    const after = await converged('beta', 6);
    assert.equal(after.filter((id) => !before.includes(id)).length, 1, 'exactly one new container');
    const replica = await eventually('the restart to be reported', async () =>
      (await view('beta')).containers.find((c) => c.name === 'beta-2' && c.restart_count === 1),
    );
    assert.equal(replica.status, 'running');
    const { body } = await skiff.api('GET', '/api/events?service=beta');
    const restarts = (body as { message: string }[]).filter((e) =>
      e.message.startsWith('Restarting beta-2 ('),
    );
    assert.equal(restarts.length, 1, 'the event recorded while the server was away arrived once');
  });
});
