/**
 * Address pools on the real engine: two clusters with different pools share one Docker engine,
 * each serving a service of the same name that its own client reaches by name; a third cluster
 * whose pool overlaps the first one's bridge refuses on its agent, saying why; a server refuses
 * to change a cluster's pool, and an unusable pool is a usage error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bridgeName, clusterTag, dockerNetworkName } from '../src/model/addressing.ts';
import type { ServiceView } from '../src/model/views.ts';
import { nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import { docker, execIn } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const MAIN = join(resolve(import.meta.dirname, '..'), 'src/cli/main.ts');
const POOL_A = '10.210.0.0/16';
const POOL_B = '10.212.0.0/16';
/** Holds POOL_A: this host then carries a bridge (cluster A's) inside C's pool. */
const POOL_C = '10.210.0.0/15';

let a: SkiffCluster;
let b: SkiffCluster;

async function deployAndWait(skiff: SkiffCluster, body: Record<string, unknown>): Promise<ServiceView> {
  const response = await skiff.api('POST', '/api/deploy', body);
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
  return await eventually(
    `${String(body.name)} running`,
    async () => {
      const v = serviceViewSchema.parse((await skiff.api('GET', `/api/services/${String(body.name)}`)).body);
      return v.status === 'running' && v.containers.length === v.replicas ? v : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

/** Runs the CLI to completion (bounded); its exit code and stderr. */
async function runCli(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], {
    env: { ...process.env, SKIFF_TOKEN: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  clearTimeout(timer);
  return { code, stderr };
}

describe('address pools', { timeout: 300_000 }, () => {
  before(async () => {
    a = await SkiffCluster.start('up', { serverArgs: ['--address-pool', POOL_A] });
    b = await SkiffCluster.start('up', { serverArgs: ['--address-pool', POOL_B] });
  });
  after(async () => {
    if (process.exitCode) console.error([...(a?.output ?? []), ...(b?.output ?? [])].slice(-60).join('\n'));
    await b?.stop();
    await a?.stop();
  });

  test('two clusters with different pools on one engine each reach their own service by name', async () => {
    // The same service name in both clusters, different versions, so each answer says whose it is.
    await Promise.all([
      deployAndWait(a, { name: 'web', image: 'skiff-demo:v1', ports: [{ container_port: 8080 }] }),
      deployAndWait(b, { name: 'web', image: 'skiff-demo:v2', ports: [{ container_port: 8080 }] }),
    ]);
    const [clientA, clientB] = await Promise.all([
      deployAndWait(a, { name: 'client', image: 'skiff-demo:v1' }),
      deployAndWait(b, { name: 'client', image: 'skiff-demo:v1' }),
    ]);
    const idA = clientA.containers[0]?.id;
    const idB = clientB.containers[0]?.id;
    assert.ok(idA && idB);
    for (const [id, version] of [
      [idA, 'v1'],
      [idB, 'v2'],
    ] as const) {
      // The proxy joins a replica once it is serving; poll until the name answers.
      const answer = await eventually(`web by name (${version})`, async () => {
        const result = await execIn(id, 'TIMEOUT=2 http-get http://web:8080/');
        return result.ok ? result.out.trim() : undefined;
      });
      assert.equal(answer, `hello from web-0 version ${version}`);
    }
    const lookupA = await execIn(idA, 'nslookup web.skiff 2>&1');
    assert.match(lookupA.out, /Address: 10\.210\.8\.\d+/, 'A names its VIP in its own pool');
    const lookupB = await execIn(idB, 'nslookup web.skiff 2>&1');
    assert.match(lookupB.out, /Address: 10\.212\.8\.\d+/, 'B names its VIP in its own pool');

    // Each cluster's network is its own: named after the cluster, on its own bridge and subnet.
    for (const [skiff, subnet] of [
      [a, '10.210.0.0/20'],
      [b, '10.212.0.0/20'],
    ] as const) {
      const network = await docker.getNetwork(dockerNetworkName(skiff.clusterId, 'default')).inspect();
      assert.equal(network.Labels?.['skiff.cluster'], skiff.clusterId);
      assert.equal(network.IPAM?.Config?.[0]?.Subnet, subnet);
      assert.equal(network.Options?.['com.docker.network.bridge.name'], bridgeName(skiff.clusterId, 0));
    }
    assert.notEqual(clusterTag(a.clusterId), clusterTag(b.clusterId));
  });

  test('an agent whose host overlaps the pool refuses, naming the address, the pool and the flag', async () => {
    const c = await SkiffCluster.start('up', { serverArgs: ['--address-pool', POOL_C], waitForNode: false });
    try {
      const overlap = `address 10.210.0.1/20 on ${bridgeName(a.clusterId, 0)} (another Skiff cluster's bridge)`;
      const event = await eventually('the node event saying why', async () => {
        const events = (await c.api('GET', '/api/events')).body as { type: string; message: string }[];
        return events.find((e) => e.type === 'node' && e.message.includes('overlaps'));
      });
      assert.ok(event.message.includes(overlap), event.message);
      assert.ok(event.message.includes(`address pool ${POOL_C}`), event.message);
      assert.ok(event.message.includes('--address-pool'), event.message);
      await eventually('the agent log saying so', () =>
        // An error line, in the daemons' text log format (`TIME ERROR  message`).
        c.output.some((line) => /\bERROR\b/.test(line) && line.includes(`this host's ${overlap}`)),
      );
      // The node is not left ready (nothing would run there), and the cluster made no network.
      await eventually('the node not ready', async () => {
        const nodes = nodeViewSchema.array().parse((await c.api('GET', '/api/nodes')).body);
        return nodes.length === 1 && nodes.every((n) => n.status !== 'ready');
      });
      const [node] = nodeViewSchema.array().parse((await c.api('GET', '/api/nodes')).body);
      assert.match(node?.message ?? '', new RegExp(`^refused: its host overlaps the address pool ${POOL_C}`));
      const deployed = await c.api('POST', '/api/deploy', { name: 'web', image: 'skiff-demo:v1' });
      assert.equal(deployed.status, 201);
      const networks = await docker.listNetworks({ filters: { label: [`skiff.cluster=${c.clusterId}`] } });
      assert.deepEqual(networks, []);
    } finally {
      await c.stop();
    }
  });

  test('a later start with another pool is refused, naming both pools and the data dir; a bad pool is a usage error', async () => {
    const moved = await runCli(['server', '--data-dir', a.dataDir, '--port', '0', '--address-pool', POOL_B]);
    assert.equal(moved.code, 1, moved.stderr);
    assert.ok(moved.stderr.includes(`created with --address-pool ${POOL_A}`), moved.stderr);
    assert.ok(moved.stderr.includes(POOL_B), moved.stderr);
    assert.ok(moved.stderr.includes(a.dataDir), moved.stderr);
    const wide = await runCli([
      'server',
      '--data-dir',
      a.dataDir,
      '--port',
      '0',
      '--address-pool',
      '10.0.0.0/8',
    ]);
    assert.equal(wide.code, 2, wide.stderr);
    assert.match(wide.stderr, /--address-pool: 10\.0\.0\.0\/8: the prefix must be \/12 to \/18/);
  });
});
