/**
 * Volumes on a real engine, through the API and the real CLI: a replica writes to its per-slot
 * named volume, is killed (SIGKILL), and its replacement reads the data; the killed container's
 * anonymous volume goes with it; a rolling update of the volume-backed service keeps the data and
 * never has two containers mounting the single-writer volume at once; `skiff rm` keeps the volume,
 * `skiff rm --volumes` removes it. The image's PID 1 ignores SIGTERM, as most real images' does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serviceViewSchema } from '../src/model/views.ts';
import { volumeViewSchema } from '../src/model/volume-view.ts';
import { docker, execIn, volumesOf } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const NAME = 'vol-db';
const VOLUME = 'vol-db-data-0';
let skiff: SkiffCluster;

const spec = (image: string) => ({
  name: NAME,
  image,
  replicas: 1,
  stop_grace_period: '2s',
  update: { min_healthy_time: '1s', drain_timeout: '0s' },
  volumes: [{ source: 'vol-db-data-{{.Task.Slot}}', target: '/data' }, { target: '/scratch' }],
});

async function view() {
  const res = await skiff.api('GET', `/api/services/${NAME}`);
  return res.status === 200 ? serviceViewSchema.parse(res.body) : undefined;
}

/** The one running container of the service at `revision`, once Skiff and Docker agree. */
async function runningContainer(revision: number): Promise<string> {
  return await eventually(
    `${NAME} running at revision ${revision}`,
    async () => {
      const v = await view();
      const running = (await skiff.containers(NAME)).filter((c) => c.state === 'running');
      if (v?.status !== 'running' || v.revision !== revision || running.length !== 1) return undefined;
      return running[0]?.id;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/** Containers of this cluster, running, that mount the volume (by Docker's own account). */
async function runningMounts(volume: string): Promise<string[]> {
  const list = await docker.listContainers({
    filters: { label: [`skiff.cluster=${skiff.clusterId}`], volume: [volume], status: ['running'] },
  });
  return list.map((c) => c.Id);
}

async function anonymousVolumeOf(containerId: string): Promise<string> {
  const info = await docker.getContainer(containerId).inspect();
  const mount = info.Mounts.find((m) => m.Destination === '/scratch');
  assert.ok(mount?.Name, 'an anonymous volume at /scratch');
  return mount.Name;
}

async function volumeExists(name: string): Promise<boolean> {
  return await docker
    .getVolume(name)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

describe('volumes on one host', { timeout: 300_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('up');
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-60).join('\n'));
    await skiff?.stop();
  });

  test("a killed replica's replacement reads what it wrote to its volume; its anonymous volume went with it", async () => {
    const deployed = await skiff.api('POST', '/api/deploy', spec('skiff-demo:v1-noterm'));
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const first = await runningContainer(1);
    const labels = (await docker.getVolume(VOLUME).inspect()).Labels ?? {};
    assert.deepEqual(
      [labels['skiff.cluster'], labels['skiff.service'], labels['skiff.slot']],
      [skiff.clusterId, NAME, '0'],
      'the agent made the volume, labelled as the cluster’s',
    );
    await eventually('an event says the agent made the volume', async () => {
      const events = (await skiff.api('GET', `/api/events?service=${NAME}`)).body as { message: string }[];
      return events.some((e) => e.message === `Volume ${VOLUME} created for vol-db-0`);
    });
    const written = await execIn(first, 'echo kept-across-replacements > /data/marker && cat /data/marker');
    assert.deepEqual(written, { ok: true, out: 'kept-across-replacements\n' });
    const scratch = await anonymousVolumeOf(first);
    await docker.getContainer(first).kill({ signal: 'SIGKILL' });
    const second = await eventually(
      'a replacement container',
      async () => {
        const running = (await skiff.containers(NAME)).filter((c) => c.state === 'running' && c.id !== first);
        return running[0]?.id;
      },
      { timeoutMs: 60_000 },
    );
    const read = await execIn(second, 'cat /data/marker');
    assert.deepEqual(read, { ok: true, out: 'kept-across-replacements\n' });
    await eventually('the killed container and its anonymous volume are gone', async () => {
      const gone = !(await skiff.containers(NAME)).some((c) => c.id === first);
      return gone && !(await volumeExists(scratch));
    });
    assert.notEqual(await anonymousVolumeOf(second), scratch, 'a fresh anonymous volume');
  });

  test('the API and skiff volume ls say which node holds the volume and which replica uses it', async () => {
    const rows = await eventually('the agent reported the volume', async () => {
      const res = await skiff.api('GET', '/api/volumes');
      const parsed = volumeViewSchema.array().parse(res.body);
      const row = parsed.find((r) => r.name === VOLUME);
      return row?.used_by.some((u) => u.replica === 'vol-db-0') ? parsed : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.name, r.replica, r.state]),
      [[VOLUME, 'vol-db-0', 'present']],
      'only the named volume: anonymous ones are the containers’ own',
    );
    const ls = await skiff.cli(['volume', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^NAME\s+NODE\s+STATE\s+REPLICA\s+USED BY\s+CREATED$/m);
    assert.match(ls.stdout, new RegExp(`^${VOLUME}\\s+\\S+\\s+present\\s+vol-db-0\\s+vol-db-0\\s`, 'm'));
  });

  test('a rolling update keeps the data and never mounts the single-writer volume in two containers', async () => {
    const before = await runningContainer(1);
    const updated = await skiff.api('POST', '/api/deploy', spec('skiff-demo:v2-noterm'));
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    let most = 0;
    const after = await eventually(
      'revision 2 running, alone',
      async () => {
        most = Math.max(most, (await runningMounts(VOLUME)).length);
        const v = await view();
        const containers = await skiff.containers(NAME);
        if (v?.revision !== 2 || v.status !== 'running' || containers.length !== 1) return undefined;
        return containers[0]?.state === 'running' && containers[0].id !== before
          ? containers[0].id
          : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    );
    assert.equal(most, 1, 'stop-first: never two running containers with the volume');
    const read = await execIn(after, 'cat /data/marker');
    assert.deepEqual(read, { ok: true, out: 'kept-across-replacements\n' });
  });

  test('skiff rm keeps the volume (a new deploy finds the data); skiff rm --volumes removes it', async () => {
    const rm = await skiff.cli(['rm', NAME]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout.trim(), `removed ${NAME}`);
    await eventually('its containers are gone', async () => (await skiff.containers(NAME)).length === 0);
    assert.deepEqual(await volumesOf(skiff.clusterId), [VOLUME], 'kept');
    assert.equal((await skiff.api('POST', '/api/deploy', spec('skiff-demo:v1-noterm'))).status, 201);
    const again = await runningContainer(1);
    assert.deepEqual(await execIn(again, 'cat /data/marker'), {
      ok: true,
      out: 'kept-across-replacements\n',
    });

    const purge = await skiff.cli(['rm', NAME, '--volumes']);
    assert.equal(purge.code, 0, purge.stderr);
    assert.equal(purge.stdout.trim(), `removed ${NAME} and its volumes ${VOLUME}`);
    await eventually(
      'the volume is removed once its container is gone',
      async () => (await volumesOf(skiff.clusterId)).length === 0,
      { timeoutMs: 60_000 },
    );
    await eventually('the API no longer lists it', async () => {
      const rows = volumeViewSchema.array().parse((await skiff.api('GET', '/api/volumes')).body);
      return rows.length === 0;
    });
  });
});
