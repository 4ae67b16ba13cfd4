/**
 * A single server on etcd, end to end with a real agent and Docker: a cluster that began on
 * SQLite is migrated into etcd (`skiff store migrate`) and its server restarted on it; the agent
 * reconnects and its containers are adopted, not recreated. Then deploy, ps, scale and rm work on
 * etcd through the CLI; and a snapshot of the etcd store restored under another prefix is a
 * cluster that adopts the containers still running.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serviceViewSchema } from '../src/model/views.ts';
import { sharedEtcdEndpoints, testPrefix } from './support/etcd.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let skiff: SkiffCluster;
let storeUrl: string;
let endpoints: string;

async function runningIds(name: string, replicas: number): Promise<string[]> {
  return await eventually(
    `${name} running ${replicas} replicas`,
    async () => {
      const view = serviceViewSchema.parse((await skiff.api('GET', `/api/services/${name}`)).body);
      const running = (await skiff.containers(name)).filter((c) => c.state === 'running');
      if (view.status !== 'running' || running.length !== replicas || view.running !== replicas)
        return undefined;
      return running.map((c) => c.id).sort();
    },
    { timeoutMs: 60_000 },
  );
}

describe('a server on etcd', { timeout: 180_000 }, () => {
  before(async () => {
    endpoints = (await sharedEtcdEndpoints()).map((e) => e.replace(/^\w+:\/\//, '')).join(',');
    storeUrl = `etcd://${endpoints}${testPrefix('e2e')}`;
    skiff = await SkiffCluster.start('split');
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-60).join('\n'));
    await skiff?.stop();
  });

  test('a cluster migrated from SQLite carries on: same containers, no restarts', async () => {
    const deployed = await skiff.api('POST', '/api/deploy', {
      name: 'web',
      image: 'skiff-demo:v1',
      replicas: 2,
    });
    assert.equal(deployed.status, 201);
    const before = await runningIds('web', 2);
    await skiff.kill('server');
    const migrated = await skiff.cli(['store', 'migrate', '--from', skiff.dataDir, '--to', storeUrl]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.match(migrated.stdout, /copied 1 services, 2 tasks, 1 nodes/);
    skiff.useStore(['--store', storeUrl]);
    await skiff.startServer();
    await skiff.waitForNode();
    assert.deepEqual(await runningIds('web', 2), before, 'the same containers were adopted');
    const view = serviceViewSchema.parse((await skiff.api('GET', '/api/services/web')).body);
    assert.ok(view.containers.every((c) => c.restart_count === 0));
    assert.ok(
      skiff.output.some((line) => line.includes('state in etcd://')),
      'the server says it runs on etcd',
    );
  });

  test('deploy, ps, scale and rm through the CLI on etcd', async () => {
    const deploy = await skiff.cli([
      'deploy',
      '--name',
      'api',
      '--image',
      'skiff-demo:v1',
      '--replicas',
      '2',
    ]);
    assert.equal(deploy.code, 0, deploy.stderr);
    await runningIds('api', 2);
    const ps = await skiff.cli(['ps']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /api\s+running\s+2\/2/);
    const scale = await skiff.cli(['scale', 'api', '--replicas', '3']);
    assert.equal(scale.code, 0, scale.stderr);
    await runningIds('api', 3);
    const rm = await skiff.cli(['rm', 'api']);
    assert.equal(rm.code, 0, rm.stderr);
    await eventually('api gone', async () => (await skiff.containers('api')).length === 0, {
      timeoutMs: 60_000,
    });
    const events = await skiff.cli(['events']);
    assert.match(events.stdout, /Service api created/);
  });

  test('a snapshot of the etcd store, restored elsewhere, is a cluster that adopts what runs', async () => {
    const before = await runningIds('web', 2);
    const file = join(skiff.dataDir, 'etcd.snap');
    const saved = await skiff.cli(['snapshot', 'save', file, '--store', storeUrl]);
    assert.equal(saved.code, 0, saved.stderr);
    await skiff.kill('server');
    const elsewhere = `etcd://${endpoints}${testPrefix('e2e-restored')}`;
    const restored = await skiff.cli(['snapshot', 'restore', file, '--store', elsewhere]);
    assert.equal(restored.code, 0, restored.stderr);
    skiff.useStore(['--store', elsewhere]);
    await skiff.startServer();
    await skiff.waitForNode();
    assert.deepEqual(await runningIds('web', 2), before);
  });
});
