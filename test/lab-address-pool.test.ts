/**
 * A host whose own network is inside the cluster's address pool, for real: the lab's hosts sit
 * on 10.231.0.0/24, and this cluster is given 10.231.0.0/16. The agent refuses to run replicas
 * and says so, naming the address, the pool and the flag, in its log and as a node event; the
 * node is not left ready and its engine gets no Skiff network.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { Lab } from './support/lab.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const POOL = '10.231.0.0/16';
let lab: Lab;
let skiff: SkiffCluster;

describe('a lab host inside the address pool', { timeout: 300_000 }, () => {
  before(async () => {
    lab = await Lab.up(1);
    skiff = await SkiffCluster.startServerOnly(Lab.gateway, ['--address-pool', POOL]);
    await lab.startAgents(skiff.url, skiff.joinToken);
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
    await skiff?.stop();
    await lab?.down();
  });

  test('its agent refuses, naming the address, the pool and the flag, and runs nothing', async () => {
    const overlap = `address ${lab.address(1)}/24 on eth0 overlaps the cluster's address pool ${POOL}`;
    const event = await eventually('the node event saying why', async () => {
      const events = (await skiff.api('GET', '/api/events')).body as {
        type: string;
        node: string;
        message: string;
      }[];
      return events.find((e) => e.type === 'node' && e.message.includes('overlaps'));
    });
    assert.equal(event.node, lab.nodeName(1));
    assert.ok(event.message.includes(overlap), event.message);
    assert.ok(event.message.includes('--address-pool'), event.message);
    // An error line in the daemons' text log format (`TIME ERROR  message`).
    const log = readFileSync(lab.agentLogPath(1), 'utf8');
    const line = log.split('\n').find((l) => l.includes(`this host's ${overlap}`));
    assert.match(line ?? '', /\bERROR\b/, log.slice(-2000));

    await eventually('the node not ready', async () => {
      const nodes = nodeViewSchema.array().parse((await skiff.api('GET', '/api/nodes')).body);
      return nodes.length === 1 && nodes.every((n) => n.status !== 'ready');
    });
    const nodes = await skiff.cli(['nodes']);
    assert.match(nodes.stdout, /refused: its host overlaps the address pool 10\.231\.0\.0\/16/, nodes.stdout);
    const deployed = await skiff.api('POST', '/api/deploy', { name: 'web', image: 'skiff-demo:v1' });
    assert.equal(deployed.status, 201);
    const web = serviceViewSchema.parse((await skiff.api('GET', '/api/services/web')).body);
    assert.equal(web.running, 0);
    const engine = new Docker({ socketPath: lab.socketPath(1) });
    const networks = await engine.listNetworks({ filters: { label: [`skiff.cluster=${skiff.clusterId}`] } });
    assert.deepEqual(networks, [], 'no Skiff network on the host');
    // It stays refused: the agent looks at its host again before dialling, and does not rejoin
    // (a redial would be back within a second, long before the node is called down).
    await eventually('the node down', async () => {
      const nodes = nodeViewSchema.array().parse((await skiff.api('GET', '/api/nodes')).body);
      return nodes[0]?.status === 'down';
    });
    const messages = ((await skiff.api('GET', '/api/events')).body as { message: string }[]).map(
      (e) => e.message,
    );
    assert.equal(messages.filter((m) => m.includes('overlaps')).length, 1, messages.join('\n'));
    assert.equal(messages.filter((m) => m.includes('agent connected')).length, 0, messages.join('\n'));
  });
});
