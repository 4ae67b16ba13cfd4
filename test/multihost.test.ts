/**
 * Many hosts, for real: three lab hosts (network namespaces, each with its own Docker engine and
 * agent) and a server on the lab bridge. Spreading, pending reasons, an agent restart that moves
 * nothing, a killed host and a partitioned host whose replicas move and whose stale copies stop
 * when they return, and a drain (the partition and the drain with an image whose PID 1 ignores
 * SIGTERM, the rest with one that stops on it).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { eventSchema } from '../src/model/event.ts';
import type { ServiceView } from '../src/model/views.ts';
import { logLineSchema, nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { Lab } from './support/lab.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const HOSTS = 3;
let lab: Lab;
let skiff: SkiffCluster;
let engines: Docker[];

async function view(name: string): Promise<ServiceView> {
  return serviceViewSchema.parse((await skiff.api('GET', `/api/services/${name}`)).body);
}

/** Running containers of a service on each lab host, straight from each engine. */
async function placement(
  service: string,
  hosts: readonly number[] = [1, 2, 3],
): Promise<Map<number, string[]>> {
  const byHost = new Map<number, string[]>();
  for (const i of hosts) {
    const list = await (engines[i - 1] as Docker).listContainers({
      filters: {
        label: [`skiff.cluster=${skiff.clusterId}`, `skiff.service=${service}`],
        status: ['running'],
      },
    });
    byHost.set(
      i,
      list.map((c) => c.Id),
    );
  }
  return byHost;
}

const total = (byHost: Map<number, string[]>) => [...byHost.values()].reduce((n, ids) => n + ids.length, 0);

async function nodeStatus(i: number): Promise<string> {
  const node = nodeViewSchema.parse((await skiff.api('GET', `/api/nodes/${lab.nodeName(i)}`)).body);
  return node.status;
}

async function nodeMessages(i: number): Promise<string[]> {
  const { body } = await skiff.api('GET', '/api/events?limit=10000');
  return eventSchema
    .array()
    .parse(body)
    .filter((e) => e.node === lab.nodeName(i))
    .map((e) => e.message);
}

async function deploy(body: Record<string, unknown>): Promise<void> {
  const response = await skiff.api('POST', '/api/deploy', { image: 'skiff-demo:v1', ...body });
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
}

async function runningEverywhere(service: string, replicas: number, hosts?: readonly number[]) {
  return await eventually(
    `${service}: ${replicas} running`,
    async () => {
      const v = await view(service);
      const byHost = await placement(service, hosts);
      return v.status === 'running' && total(byHost) === replicas ? byHost : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

describe('many hosts', { timeout: 600_000 }, () => {
  before(async () => {
    lab = await Lab.up(HOSTS);
    engines = [1, 2, 3].map((i) => new Docker({ socketPath: lab.socketPath(i) }));
    skiff = await SkiffCluster.startServerOnly(Lab.gateway, ['--address-pool', Lab.addressPool]);
    await lab.startAgents(skiff.url, skiff.joinToken);
    await eventually('three ready nodes', async () => {
      const nodes = nodeViewSchema.array().parse((await skiff.api('GET', '/api/nodes')).body);
      return nodes.filter((n) => n.status === 'ready').length === HOSTS;
    });
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
    await skiff?.stop();
    await lab?.down();
  });

  test('replicas of a service spread over the hosts', async () => {
    await deploy({ name: 'web', replicas: 3 });
    const byHost = await runningEverywhere('web', 3);
    assert.deepEqual(
      [...byHost.values()].map((ids) => ids.length),
      [1, 1, 1],
    );
  });

  test('logs merge the replicas of every host in time order', async () => {
    const lines = await eventually('a log line from every host', async () => {
      const response = await fetch(`${skiff.url}/api/services/web/logs?tail=5&format=ndjson`, {
        headers: { authorization: `Bearer ${skiff.token}` },
      });
      const parsed = (await response.text())
        .trim()
        .split('\n')
        .map((line) => logLineSchema.parse(JSON.parse(line)));
      return new Set(parsed.map((l) => l.node_id)).size === 3 ? parsed : undefined;
    });
    const times = lines.map((l) => l.timestamp);
    assert.deepEqual([...times].sort(), times, 'oldest first across hosts');
    const cli = await skiff.cli(['logs', 'web', '--tail', '1']);
    assert.deepEqual(
      new Set(
        cli.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(/\s*\|/)[0]),
      ),
      new Set(['web-0', 'web-1', 'web-2']),
    );
  });

  test('an impossible request stays pending with its reasons', async () => {
    await deploy({ name: 'huge', replicas: 1, resources: { memory_mb: 4_000_000 } });
    const v = await view('huge');
    assert.equal(v.status, 'pending');
    assert.equal(v.message, 'huge-0: 0/3 nodes available: 3 insufficient memory');
    const ps = await skiff.cli(['ps', 'huge']);
    assert.match(ps.stdout, /insufficient memory/);
    assert.equal((await skiff.api('DELETE', '/api/services/huge')).status, 200);
  });

  test('an agent restart moves nothing', async () => {
    const before = await runningEverywhere('web', 3);
    await lab.killAgent(2);
    await eventually('lab-h2 unreachable', async () => (await nodeStatus(2)) === 'unreachable');
    await lab.startAgent(2);
    await eventually('lab-h2 ready again', async () => (await nodeStatus(2)) === 'ready', {
      timeoutMs: 20_000,
    });
    const after = await runningEverywhere('web', 3);
    assert.deepEqual(after, before, 'the same containers on the same hosts');
    const { body } = await skiff.api('GET', '/api/events?service=web');
    const messages = (body as unknown[]).map((e) => eventSchema.parse(e).message);
    assert.ok(!messages.some((m) => m.startsWith('Rescheduling')), JSON.stringify(messages));
    // The other agents were asked about it (indirect probes) and reached its replica (on the port
    // its image declares), so the grace stood.
    const nodeEvents = await nodeMessages(2);
    assert.ok(
      nodeEvents.some((m) =>
        /^Node lab-h2 is silent but its replicas still answer \(lab-h\d: \d+ ok/.test(m),
      ),
      JSON.stringify(nodeEvents),
    );
  });

  test('a killed host: its replica runs elsewhere, and nothing is duplicated when it returns', async () => {
    await runningEverywhere('web', 3);
    await lab.killHost(1);
    await eventually('lab-h1 down', async () => (await nodeStatus(1)) === 'down', { timeoutMs: 20_000 });
    // Down on the evidence of the others (its replica answers neither), not at the end of the grace.
    const nodeEvents = await nodeMessages(1);
    assert.ok(
      nodeEvents.some(
        (m) =>
          m ===
          'Node lab-h1 is down (silent, and its replicas answer no other node): its replicas are rescheduled',
      ),
      JSON.stringify(nodeEvents),
    );
    const moved = await runningEverywhere('web', 3, [2, 3]);
    assert.equal(total(moved), 3);
    await lab.startHost(1);
    await eventually('lab-h1 ready', async () => (await nodeStatus(1)) === 'ready', { timeoutMs: 30_000 });
    // The returning host was told its replica moved: it stops it, so exactly three remain.
    await eventually(
      'no stale replica on lab-h1',
      async () => (await placement('web', [1])).get(1)?.length === 0,
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(total(await placement('web')), 3);
  });

  test('a partitioned host: its replicas move, and stop there once it heals', async () => {
    // An image whose PID 1 ignores SIGTERM: every stop of a stale or drained copy ends in SIGKILL
    // after the grace period, and none of those deaths may count against the replicas.
    await deploy({
      name: 'part',
      image: 'skiff-demo:v1-noterm',
      replicas: 3,
      placement: { strategy: 'spread' },
    });
    const before = await runningEverywhere('part', 3);
    const onHost3 = before.get(3)?.length ?? 0;
    assert.ok(onHost3 > 0, 'lab-h3 runs a replica to lose');
    await lab.partition(3);
    await eventually('lab-h3 down', async () => (await nodeStatus(3)) === 'down', { timeoutMs: 20_000 });
    // Cut off, the host still runs its copy (the data plane outlives the control plane)...
    await runningEverywhere('part', 3, [1, 2]);
    await lab.heal(3);
    await eventually('lab-h3 ready', async () => (await nodeStatus(3)) === 'ready', { timeoutMs: 20_000 });
    // ...until it hears that the replica moved.
    await eventually(
      'no stale replica on lab-h3',
      async () => (await placement('part', [3])).get(3)?.length === 0,
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(total(await placement('part')), 3);
  });

  test('drain moves every replica off a node without dropping below the desired count', async () => {
    await runningEverywhere('part', 3);
    const node = lab.nodeName(2);
    const drained = await skiff.cli(['node', 'drain', node]);
    assert.equal(drained.code, 0, drained.stderr);
    await eventually(
      'lab-h2 empty',
      async () => {
        const v = await view('part');
        assert.ok(v.running >= 3, `running dropped to ${v.running}`);
        return (
          (await placement('part', [2])).get(2)?.length === 0 &&
          (await placement('web', [2])).get(2)?.length === 0
        );
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    await runningEverywhere('part', 3, [1, 3]);
    const settled = await view('part');
    assert.deepEqual(
      settled.containers.map((c) => c.restart_count),
      [0, 0, 0],
      'the drained copies died by SIGKILL; none of that counted against a replica',
    );
    const nodes = await skiff.cli(['nodes']);
    assert.match(nodes.stdout, new RegExp(`${node}\\s+ready,draining`));
    assert.equal((await skiff.cli(['node', 'uncordon', node])).code, 0);
  });

  test('a global service follows nodes as they drain, change labels, leave and return', async () => {
    const spec = { name: 'agentd', image: 'skiff-demo:v1-noterm', mode: 'global' };
    await deploy(spec);
    /** agentd runs once on each of `hosts` and nowhere else among the engines that are up. */
    const once = async (hosts: number[], what: string, up: number[] = [1, 2, 3]) =>
      await eventually(
        what,
        async () => {
          const byHost = await placement('agentd', up);
          const counts = up.map((i) => byHost.get(i)?.length ?? 0);
          return counts.every((n, at) => n === (hosts.includes(up[at] as number) ? 1 : 0))
            ? byHost
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    const first = await once([1, 2, 3], 'one agentd on each host');
    const names = (await view('agentd')).containers.map((c) => c.name).sort();
    assert.deepEqual(names, ['agentd-0', 'agentd-1', 'agentd-2']);
    assert.equal((await skiff.api('POST', '/api/services/agentd/scale', { replicas: 5 })).status, 400);

    assert.equal((await skiff.cli(['node', 'drain', lab.nodeName(2)])).code, 0);
    await once([1, 3], 'none on the drained host, none moved');
    assert.equal((await skiff.cli(['node', 'uncordon', lab.nodeName(2)])).code, 0);
    await once([1, 2, 3], 'back on the uncordoned host');

    const labelled = await skiff.api('PUT', `/api/nodes/${lab.nodeName(3)}/labels`, {
      labels: { tier: 'edge' },
    });
    assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
    await deploy({ ...spec, placement: { constraints: ['tier!=edge'] } });
    await once([1, 2], 'none where the constraint fails');

    await lab.killHost(1);
    await eventually('lab-h1 down', async () => (await nodeStatus(1)) === 'down', { timeoutMs: 20_000 });
    await once([2], 'none moved off the dead host', [2, 3]);
    await lab.startHost(1);
    await eventually('lab-h1 ready', async () => (await nodeStatus(1)) === 'ready', { timeoutMs: 30_000 });
    const back = await once([1, 2], 'the returning host runs its own again');
    assert.notDeepEqual(back.get(1), first.get(1), 'a new container: the old one died with its host');
    const v = await eventually('agentd running again', async () => {
      const current = await view('agentd');
      return current.status === 'running' ? current : undefined;
    });
    assert.equal(v.replicas, 2, 'a global service wants one replica per node it runs on');
  });
});
