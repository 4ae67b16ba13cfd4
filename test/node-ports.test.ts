/**
 * Node-to-node published ports on one real engine (issue 10's reproduction). Every replica port
 * is published by the engine on an engine-chosen port, for other nodes' rules to DNAT to. On
 * 0.0.0.0, a container of another Skiff network on the same host reached the service through its
 * own gateway and that port (`wget http://GATEWAY:PORT/` from n2 answered by a replica on n1),
 * and so did a container on plain Docker's bridge and any machine that could reach the host. Now the port is on the node's cluster address
 * only, and a rule of ours lets through only other nodes' addresses: the gateway path and an
 * outside host (a network namespace of the test's own, which is not a node) are refused, while
 * the service is still reached by name from its own network and the user's `host`-mode
 * `host_port` stays open to anyone, as the spec says.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { networkAddressing } from '../src/model/addressing.ts';
import { type ServiceView, serviceViewSchema } from '../src/model/views.ts';
import { execIn } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const run = promisify(execFile);
/** An outside host: a namespace with a veth to this host (addresses of the test's own /30). */
const NS = `skiff-np-${process.pid}`;
const HOST_SIDE = `np${process.pid % 100000}h`;
const NS_SIDE = `np${process.pid % 100000}n`;
const NODE_ADDRESS = '192.168.253.1';
const OUTSIDER = '192.168.253.2';
const HOST_PORT = 18_000 + (process.pid % 1000);

let skiff: SkiffCluster;

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

async function deploy(body: Record<string, unknown>): Promise<void> {
  const response = await skiff.api('POST', '/api/deploy', { image: 'skiff-demo:v1', ...body });
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
}

async function converged(name: string): Promise<ServiceView> {
  return await eventually(
    `${name} running`,
    async () => {
      const v = serviceViewSchema.parse((await skiff.api('GET', `/api/services/${name}`)).body);
      const published = v.containers.every((c) => c.id && c.ports.length >= v.ports.length);
      return v.status === 'running' && published ? v : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** From the outside host: the body, or undefined when the connection is refused or times out. */
async function fromOutside(url: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('ip', ['netns', 'exec', NS, 'curl', '-s', '-m', '3', url]);
    return stdout;
  } catch {
    return undefined;
  }
}

describe('node-to-node published ports', { timeout: 240_000 }, () => {
  let client = '';
  let enginePort = 0;
  let gateway = '';

  before(async () => {
    await ip('netns', 'add', NS);
    await ip('link', 'add', HOST_SIDE, 'type', 'veth', 'peer', 'name', NS_SIDE);
    await ip('link', 'set', NS_SIDE, 'netns', NS);
    await ip('addr', 'add', `${NODE_ADDRESS}/30`, 'dev', HOST_SIDE);
    await ip('link', 'set', HOST_SIDE, 'up');
    await ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${OUTSIDER}/30`, 'dev', NS_SIDE);
    await ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_SIDE, 'up');
    await ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    await ip('netns', 'exec', NS, 'ip', 'route', 'add', 'default', 'via', NODE_ADDRESS);
    // The node's cluster address is the host side of that link, as a LAN address would be.
    skiff = await SkiffCluster.start('split', { agentArgs: ['--address', NODE_ADDRESS] });
    await deploy({ name: 'web', networks: ['n1'], ports: [{ container_port: 8080 }] });
    await deploy({
      name: 'db',
      networks: ['n1'],
      env: { PORT: '5432' },
      ports: [{ container_port: 5432, host_port: HOST_PORT, mode: 'host' }],
    });
    await deploy({ name: 'client', networks: ['n2'] });
    const web = await converged('web');
    await converged('db');
    client = (await converged('client')).containers[0]?.id ?? '';
    enginePort = web.containers[0]?.ports.find((p) => p.container_port === 8080)?.host_port ?? 0;
    assert.ok(enginePort > 0, JSON.stringify(web.containers));
    gateway = networkAddressing(skiff.pool, skiff.allocation('network', 'n2')).gateway;
  });

  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
    await skiff?.stop();
    await ip('netns', 'del', NS).catch(() => {});
    await ip('link', 'del', HOST_SIDE).catch(() => {});
  });

  test('the engine publishes the replica port on the cluster address only', async () => {
    const { stdout } = await run('docker', [
      'port',
      (await skiff.containers('web'))[0]?.id ?? '',
      '8080/tcp',
    ]);
    assert.deepEqual(stdout.trim().split('\n'), [`${NODE_ADDRESS}:${enginePort}`]);
  });

  test('a container on another network reaches neither the gateway nor the node address at that port', async () => {
    // The filter is in once the first endpoints (with the node list) are applied.
    await eventually('the node-ports filter', async () => {
      const { stdout } = await run('iptables-save', ['-t', 'filter']);
      return stdout.includes('"node ports"');
    });
    for (const host of [gateway, NODE_ADDRESS]) {
      const { ok, out } = await execIn(client, `TIMEOUT=3 http-get http://${host}:${enginePort}/`);
      assert.equal(ok, false, `n2 reached web through ${host}:${enginePort}: ${out}`);
      assert.doesNotMatch(out, /hello from web/);
    }
    // Nor does a container on plain Docker's default bridge (the engine's user-space proxy path).
    const plain = await run('docker', [
      'run',
      '--rm',
      '--network',
      'bridge',
      '--entrypoint',
      'sh',
      'skiff-demo:v1',
      '-c',
      `TIMEOUT=3 http-get http://${NODE_ADDRESS}:${enginePort}/ || echo refused`,
    ]);
    assert.doesNotMatch(plain.stdout, /hello from web/);
    assert.match(plain.stdout, /refused/);
    // Its own network still reaches it by name: the refusal is of that path, not of the service.
    const web = (await skiff.containers('web'))[0]?.id ?? '';
    const byName = await eventually('web by name from its own network', async () => {
      const answer = await execIn(web, 'TIMEOUT=3 http-get http://web:8080/');
      return answer.ok ? answer.out : undefined;
    });
    assert.match(byName, /hello from web-0/);
  });

  test('a host that is not a node is refused at the node port; a host-mode host_port is open to it', async () => {
    assert.equal(await fromOutside(`http://${NODE_ADDRESS}:${enginePort}/`), undefined);
    const { stdout } = await run('iptables-save', ['-t', 'filter']);
    assert.match(stdout, /-A SKIFF-\w+-PEERS -s 192\.168\.253\.1\/32 -j RETURN/);
    const open = await eventually('the host-mode port answers the outside host', async () =>
      fromOutside(`http://${NODE_ADDRESS}:${HOST_PORT}/`),
    );
    assert.match(open, /hello from db-0/);
  });
});
