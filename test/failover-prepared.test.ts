/**
 * Failover that does not start from zero, on the 3-host lab: while a node is silent the other
 * agents hold its replicas' replacements created but not started (`skiff.prepared`); a killed
 * host's replicas come back from those very containers, and an agent restart (the node back
 * within the grace) leaves the prepared containers removed and nothing moved.
 * SKIFF_TEST_DEBUG=1 prints the event log, the server's output and each agent's log at the end.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { eventSchema } from '../src/model/event.ts';
import { nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { Lab } from './support/lab.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const HOSTS = 3;
const REPLICAS = 6;
let lab: Lab;
let skiff: SkiffCluster;
let engines: Docker[];

interface Seen {
  readonly id: string;
  readonly host: number;
  readonly state: string;
  readonly prepared: boolean;
}

/** Every container of the service on the given hosts, straight from each engine. */
async function containers(service: string, hosts: readonly number[] = [1, 2, 3]): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const i of hosts) {
    const list = await (engines[i - 1] as Docker).listContainers({
      all: true,
      filters: { label: [`skiff.cluster=${skiff.clusterId}`, `skiff.service=${service}`] },
    });
    for (const c of list)
      seen.push({ id: c.Id, host: i, state: c.State, prepared: c.Labels['skiff.prepared'] === 'true' });
  }
  return seen;
}

async function nodeStatus(i: number): Promise<string> {
  const node = nodeViewSchema.parse((await skiff.api('GET', `/api/nodes/${lab.nodeName(i)}`)).body);
  return node.status;
}

async function messages(service: string): Promise<string[]> {
  const { body } = await skiff.api('GET', `/api/events?service=${service}&limit=10000`);
  return eventSchema
    .array()
    .parse(body)
    .map((e) => e.message);
}

async function running(service: string, hosts?: readonly number[]): Promise<Seen[]> {
  return await eventually(
    `${service}: ${REPLICAS} running`,
    async () => {
      const view = serviceViewSchema.parse((await skiff.api('GET', `/api/services/${service}`)).body);
      const up = (await containers(service, hosts)).filter((c) => c.state === 'running');
      return view.status === 'running' && up.length === REPLICAS ? up : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

async function deploy(name: string): Promise<void> {
  const response = await skiff.api('POST', '/api/deploy', {
    name,
    image: 'skiff-demo:v1',
    replicas: REPLICAS,
    placement: { strategy: 'spread' },
  });
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
}

describe('failover from prepared replicas', { timeout: 600_000 }, () => {
  before(async () => {
    lab = await Lab.up(HOSTS);
    engines = [1, 2, 3].map((i) => new Docker({ socketPath: lab.socketPath(i) }));
    // A grace long enough for a lab agent to restart on a loaded machine (it takes 3-6 s there):
    // a killed host is down on the probes' evidence at once anyway, whatever the grace.
    skiff = await SkiffCluster.startServerOnly(Lab.gateway, [
      '--address-pool',
      Lab.addressPool,
      '--node-down-after',
      '10s',
    ]);
    await lab.startAgents(skiff.url, skiff.joinToken);
    await eventually('three ready nodes', async () => {
      const nodes = nodeViewSchema.array().parse((await skiff.api('GET', '/api/nodes')).body);
      return nodes.filter((n) => n.status === 'ready').length === HOSTS;
    });
  });
  after(async () => {
    if (process.env.SKIFF_TEST_DEBUG) {
      const { body } = await skiff.api('GET', '/api/events?limit=10000');
      for (const e of eventSchema.array().parse(body))
        console.error(`${e.timestamp} ${e.node ?? '-'} ${e.message}`);
      console.error(skiff?.output.slice(-80).join('\n'));
      for (const i of [1, 2, 3])
        console.error(
          `--- lab-h${i} agent\n${readFileSync(lab.agentLogPath(i), 'utf8').split('\n').slice(-40).join('\n')}`,
        );
    }
    await skiff?.stop();
    await lab?.down();
  });

  test('an agent restart: its replicas are prepared elsewhere meanwhile, then removed; nothing moves', async () => {
    await deploy('web');
    const before = await running('web');
    const onTwo = before.filter((c) => c.host === 2).length;
    assert.equal(onTwo, REPLICAS / HOSTS, 'spread');
    await lab.killAgent(2);
    // The node is silent (its link dropped) but its replicas answer the probes: the grace stands,
    // and meanwhile its replicas' replacements wait, created, on the other two hosts.
    const prepared = await eventually(
      'its replicas prepared on lab-h1 and lab-h3',
      async () => {
        const made = (await containers('web', [1, 3])).filter((c) => c.prepared && c.state === 'created');
        return made.length === onTwo ? made : undefined;
      },
      { timeoutMs: 2_500 },
    );
    assert.deepEqual(
      new Set(prepared.map((c) => c.host)),
      new Set([1, 3]),
      'spread over both hosts, as the scheduler would place them',
    );
    await lab.startAgent(2);
    await eventually('lab-h2 ready again', async () => (await nodeStatus(2)) === 'ready', {
      timeoutMs: 20_000,
    });
    await eventually('no prepared container left', async () => {
      const left = (await containers('web')).filter((c) => c.prepared);
      return left.length === 0 ? true : undefined;
    });
    const after = await running('web');
    assert.deepEqual(
      after.map((c) => c.id).sort(),
      before.map((c) => c.id).sort(),
      'the same containers on the same hosts',
    );
    const said = await messages('web');
    assert.ok(!said.some((m) => m.startsWith('Rescheduling')), JSON.stringify(said));
  });

  test('a killed host: its replicas come back from the containers prepared for them', async () => {
    const before = await running('web');
    const onOne = before.filter((c) => c.host === 1).length;
    await lab.killHost(1);
    await eventually('lab-h1 down', async () => (await nodeStatus(1)) === 'down', { timeoutMs: 20_000 });
    const moved = await running('web', [2, 3]);
    const fresh = moved.filter((c) => !before.some((b) => b.id === c.id));
    assert.equal(fresh.length, onOne, 'the killed host’s replicas run elsewhere');
    assert.ok(
      fresh.every((c) => c.prepared),
      `each from its prepared container: ${JSON.stringify(fresh)}`,
    );
    const said = await messages('web');
    assert.equal(
      said.filter((m) => / node lab-h1 is down; starting its replacement prepared on lab-h[23]$/.test(m))
        .length,
      onOne,
      JSON.stringify(said),
    );
    await lab.startHost(1);
    await eventually('lab-h1 ready', async () => (await nodeStatus(1)) === 'ready', { timeoutMs: 30_000 });
    await eventually('exactly the replicas, none prepared and unstarted', async () => {
      const all = await containers('web');
      const up = all.filter((c) => c.state === 'running').length;
      const waiting = all.filter((c) => c.prepared && c.state === 'created').length;
      return up === REPLICAS && waiting === 0 && all.length === REPLICAS ? true : undefined;
    });
  });
});
