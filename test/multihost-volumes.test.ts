/**
 * Volumes across hosts, for real: two lab hosts (network namespaces, each with its own Docker
 * engine and agent) and a server on the lab bridge. A replica writes to its per-slot volume; its
 * node is drained: it serves on while its successor waits, pending with the reason, until the
 * operator moves the volume (`skiff volume move`), where it starts empty and the old copy is
 * listed stale. Then that host dies: the replica waits with the reason and never starts elsewhere
 * until moved back, to the host that kept the old copy, whose data it finds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import type { ServiceView } from '../src/model/views.ts';
import { nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import { volumeViewSchema } from '../src/model/volume-view.ts';
import { execIn } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { Lab } from './support/lab.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const HOSTS = 2;
const NAME = 'vol-lab';
const VOLUME = 'vol-lab-data-0';
let lab: Lab;
let skiff: SkiffCluster;
let engines: Docker[];

async function view(): Promise<ServiceView> {
  return serviceViewSchema.parse((await skiff.api('GET', `/api/services/${NAME}`)).body);
}

/** The host (1-based) and id of the service's running container, straight from each engine. */
async function runningOn(): Promise<{ host: number; id: string }[]> {
  const found: { host: number; id: string }[] = [];
  for (const [index, engine] of engines.entries()) {
    const list = await engine
      .listContainers({
        filters: {
          label: [`skiff.cluster=${skiff.clusterId}`, `skiff.service=${NAME}`],
          status: ['running'],
        },
      })
      .catch(() => []);
    for (const c of list) found.push({ host: index + 1, id: c.Id });
  }
  return found;
}

describe('volumes on many hosts', { timeout: 600_000 }, () => {
  before(async () => {
    lab = await Lab.up(HOSTS);
    engines = [1, 2].map((i) => new Docker({ socketPath: lab.socketPath(i) }));
    skiff = await SkiffCluster.startServerOnly(Lab.gateway, ['--address-pool', Lab.addressPool]);
    await lab.startAgents(skiff.url, skiff.joinToken);
    await eventually('two ready nodes', async () => {
      const nodes = nodeViewSchema.array().parse((await skiff.api('GET', '/api/nodes')).body);
      return nodes.filter((n) => n.status === 'ready').length === HOSTS;
    });
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-60).join('\n'));
    await skiff?.stop();
    await lab?.down();
  });

  let home = 0;
  let other = 0;
  const move = (volume: string, host: number) =>
    skiff.cli(['volume', 'move', volume, '--to', lab.nodeName(host)]);
  const hint = `skiff volume move ${VOLUME} --to NODE starts it elsewhere, empty`;
  const pendingWith = (reason: string) =>
    eventually(
      `a successor pending: ${reason}`,
      async () => {
        const v = await view();
        return v.containers.some((c) => c.slot === 0 && c.status === 'pending' && c.message === reason)
          ? v
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
  const runningOnlyOn = (host: number) =>
    eventually(
      `running on lab host ${host} only`,
      async () => {
        const found = await runningOn();
        return found.length === 1 && found[0]?.host === host ? found[0] : undefined;
      },
      { timeoutMs: 60_000 },
    );

  test('a drained node’s pinned replica serves on while its successor waits with the reason, until moved', async () => {
    const deployed = await skiff.api('POST', '/api/deploy', {
      name: NAME,
      image: 'skiff-demo:v1-noterm',
      stop_grace_period: '2s',
      volumes: [{ source: 'vol-lab-data-{{.Task.Slot}}', target: '/data' }],
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const [first] = await eventually('running on one host', async () => {
      const found = await runningOn();
      return found.length === 1 ? found : undefined;
    });
    assert.ok(first);
    home = first.host;
    other = home === 1 ? 2 : 1;
    const written = await execIn(first.id, 'echo on-the-first-host > /data/marker', engines[home - 1]);
    assert.ok(written.ok, written.out);
    await eventually('the server knows where the volume is', async () => {
      const rows = volumeViewSchema.array().parse((await skiff.api('GET', '/api/volumes')).body);
      return rows.some((r) => r.name === VOLUME && r.node === lab.nodeName(home) && r.state === 'present');
    });

    const drained = await skiff.cli(['node', 'drain', lab.nodeName(home)]);
    assert.equal(drained.code, 0, drained.stderr);
    await pendingWith(`volume ${VOLUME} is on ${lab.nodeName(home)} (node cordoned; ${hint})`);
    assert.deepEqual(await runningOn(), [first], 'the drained replica serves on, nothing started elsewhere');

    const moved = await move(VOLUME, other);
    assert.equal(moved.code, 0, moved.stderr);
    const successor = await runningOnlyOn(other);
    const read = await execIn(successor.id, 'cat /data/marker 2>&1', engines[other - 1]);
    assert.match(read.out, /No such file/, 'an empty volume: nothing was copied');
    const rows = await eventually('both copies listed', async () => {
      const list = volumeViewSchema.array().parse((await skiff.api('GET', '/api/volumes')).body);
      const mine = list.filter((r) => r.name === VOLUME);
      return mine.length === 2 && mine.every((r) => r.state !== 'moved') ? mine : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.node, r.state]),
      [1, 2].map((i) => [lab.nodeName(i), i === home ? 'stale' : 'present']),
    );
  });

  test("a down node's pinned replica waits with the reason, never starting empty elsewhere, until moved", async () => {
    const uncordoned = await skiff.cli(['node', 'uncordon', lab.nodeName(home)]);
    assert.equal(uncordoned.code, 0, uncordoned.stderr);
    await lab.killHost(other);
    const pending = await pendingWith(`volume ${VOLUME} is on ${lab.nodeName(other)} (node down; ${hint})`);
    assert.equal(pending.status, 'pending');
    const ps = await skiff.cli(['ps', NAME]);
    assert.match(ps.stdout, new RegExp(`volume ${VOLUME} is on ${lab.nodeName(other)} \\(node down`));
    // Well past the node-down grace and a few passes: nothing started empty on the ready host.
    const settled = Date.now() + 5000;
    await eventually('a few seconds of waiting', async () => Date.now() >= settled, { timeoutMs: 10_000 });
    assert.deepEqual(await runningOn(), [], 'never started elsewhere');

    // Moved back to the host that kept its old copy: the replica finds that data.
    const moved = await move(VOLUME, home);
    assert.equal(moved.code, 0, moved.stderr);
    const back = await runningOnlyOn(home);
    const read = await execIn(back.id, 'cat /data/marker', engines[home - 1]);
    assert.deepEqual(read, { ok: true, out: 'on-the-first-host\n' });
  });
});
