/**
 * Volumes across hosts, for real: two lab hosts (network namespaces, each with its own Docker
 * engine and agent) and a server on the lab bridge. A replica writes to its per-slot volume; its
 * host dies; the replica waits, pending with the reason (its volume is on the down node), and
 * never starts empty on the other host, until the operator moves the volume there (`skiff volume
 * move`), where it starts with an empty volume; the old copy is listed as stale.
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

  test("a down node's pinned replica waits with the reason, and runs elsewhere only once moved", async () => {
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
    const home = first.host;
    const other = home === 1 ? 2 : 1;
    const written = await execIn(first.id, 'echo on-the-first-host > /data/marker', engines[home - 1]);
    assert.ok(written.ok, written.out);
    await eventually('the server knows where the volume is', async () => {
      const rows = volumeViewSchema.array().parse((await skiff.api('GET', '/api/volumes')).body);
      return rows.some((r) => r.name === VOLUME && r.node === lab.nodeName(home) && r.state === 'present');
    });

    await lab.killHost(home);
    const reason = `volume ${VOLUME} is on ${lab.nodeName(home)} (node down; skiff volume move ${VOLUME} --to NODE starts it elsewhere, empty)`;
    const pending = await eventually(
      'the replica pending with the reason',
      async () => {
        const v = await view();
        const replica = v.containers.find((c) => c.slot === 0 && c.status === 'pending');
        return replica?.message === reason ? v : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(pending.status, 'pending');
    const ps = await skiff.cli(['ps', NAME]);
    assert.match(ps.stdout, new RegExp(`volume ${VOLUME} is on ${lab.nodeName(home)} \\(node down`));
    // Well past the node-down grace and a few passes: nothing started empty on the other host.
    const settled = Date.now() + 5000;
    await eventually('a few seconds of waiting', async () => Date.now() >= settled, { timeoutMs: 10_000 });
    assert.deepEqual(await runningOn(), [], 'never started empty elsewhere');

    const move = await skiff.cli(['volume', 'move', VOLUME, '--to', lab.nodeName(other)]);
    assert.equal(move.code, 0, move.stderr);
    const moved = await eventually(
      'running on the other host',
      async () => {
        const found = await runningOn();
        return found.length === 1 && found[0]?.host === other ? found[0] : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const read = await execIn(moved.id, 'cat /data/marker 2>&1; ls /data | wc -l', engines[other - 1]);
    assert.match(read.out, /No such file/, 'an empty volume: nothing was copied');
    const rows = await eventually('both copies listed', async () => {
      const list = volumeViewSchema.array().parse((await skiff.api('GET', '/api/volumes')).body);
      return list.filter((r) => r.name === VOLUME).length === 2 ? list : undefined;
    });
    assert.deepEqual(
      rows.filter((r) => r.name === VOLUME).map((r) => [r.node, r.state]),
      [
        [lab.nodeName(1), home === 1 ? 'stale' : 'present'],
        [lab.nodeName(2), home === 2 ? 'stale' : 'present'],
      ],
    );
  });
});
