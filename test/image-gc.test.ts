/**
 * Image garbage collection and `skiff image prune` on the real engine: a real server process and
 * a real agent (in this process, so its engine's pulls can come from files: no registry is
 * reachable here). A pull of `gc-old:v1` or `gc-new:v1` is a `docker load` of a copy saved at
 * the start, going through the agent's one recording path (`recordPulls`), so the agent's record
 * says Skiff pulled them; `gc-local:v1` is built here and never pulled. Images and services are
 * named `gc-*`; only images this file made are removed.
 *
 *  1. An agent whose high-water mark is never reached (100%) reports its images; a rolling
 *     update from gc-old to gc-new leaves gc-old unused, and it stays; `skiff image prune` then
 *     removes it, and only it (gc-new is in use, gc-local and skiff-demo were not pulled).
 *  2. The same agent restarted (same data dir: the record persists) with `--image-gc-high-threshold 1`
 *     and a low mark of 0: rolling back to gc-old (pulled again), gc-new turns unused and is
 *     collected at once; gc-old (in use) and gc-local (not Skiff's) stay.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'zod';
import { Agent } from '../src/agent/agent.ts';
import { DockerEngine } from '../src/docker/docker-engine.ts';
import { DockerImages } from '../src/docker/docker-images.ts';
import { imagePruneViewSchema, imageViewSchema } from '../src/model/image-view.ts';
import { docker, removeCluster } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'skiff-image-gc-'));
const SAVED: Record<string, string> = {
  'gc-old:v1': join(dir, 'gc-old.tar'),
  'gc-new:v1': join(dir, 'gc-new.tar'),
};
const MINE = ['gc-old:v1', 'gc-new:v1', 'gc-local:v1'];

/** The real Docker engine, but a pull loads the saved copy: what a registry would have sent. */
class FilePullEngine extends DockerEngine {
  override async pullImage(reference: string): Promise<void> {
    const file = SAVED[reference];
    if (!file) throw new Error(`pull ${reference}: this test has no copy of it`);
    await run('docker', ['load', '-i', file]);
  }
}

let skiff: SkiffCluster;
let agent: Agent | undefined;
const logs: string[] = [];

async function build(tag: string, label: string): Promise<void> {
  const child = execFile('docker', ['build', '-q', '-t', tag, '-']);
  child.stdin?.end(`FROM skiff-demo:v1\nLABEL skiff-gc-test=${label}\n`);
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker build ${tag}: ${code}`)))),
  );
}

async function present(reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect();
    return true;
  } catch {
    return false;
  }
}

function startAgent(high: number, low: number): Promise<void> {
  agent = new Agent({
    serverUrls: [skiff.url],
    joinToken: skiff.joinToken,
    engine: new FilePullEngine(),
    images: new DockerImages(),
    imageGc: { thresholds: { highPercent: high, lowPercent: low, minAgeMs: 0 }, intervalMs: 1000 },
    name: 'gc-node',
    dataDir: join(dir, 'agent'),
    dataPlane: false,
    log: (message) => logs.push(message),
  });
  return agent.start();
}

async function images() {
  const response = await skiff.api('GET', '/api/images?node=gc-node');
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return z.array(imageViewSchema).parse(response.body);
}

async function rollTo(image: string): Promise<void> {
  const response = await skiff.api('POST', '/api/deploy', {
    name: 'gc-web',
    image,
    replicas: 1,
    command: ['sleep', '3600'],
    stop_grace_period: '1s',
  });
  assert.ok(response.status === 200 || response.status === 201, JSON.stringify(response.body));
  // The new image runs and the old replica is gone.
  await eventually(
    `gc-web on ${image} alone`,
    async () => {
      const list = await docker.listContainers({
        all: true,
        filters: { label: [`skiff.cluster=${skiff.clusterId}`, 'skiff.service=gc-web'] },
      });
      return list.length === 1 && list[0]?.State === 'running' && list[0].Image === image;
    },
    { timeoutMs: 60_000 },
  );
}

describe('image garbage collection', { timeout: 180_000 }, () => {
  before(async () => {
    await build('gc-old:v1', 'old');
    await build('gc-new:v1', 'new');
    await build('gc-local:v1', 'local');
    for (const [reference, file] of Object.entries(SAVED)) {
      await run('docker', ['save', '-o', file, reference]);
      await docker.getImage(reference).remove();
    }
    skiff = await SkiffCluster.startServerOnly('127.0.0.1');
    await startAgent(100, 99);
  });

  after(async () => {
    agent?.stop();
    if (skiff) {
      await removeCluster(skiff.clusterId).catch(() => {});
      await skiff.stop();
    }
    for (const reference of MINE)
      await docker
        .getImage(reference)
        .remove()
        .catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    if (process.exitCode) console.error(logs.slice(-40).join('\n'));
  });

  test('below the high-water mark an unused image stays; a prune removes only unused Skiff-pulled ones', async () => {
    await rollTo('gc-old:v1');
    await rollTo('gc-new:v1');
    const record = JSON.parse(readFileSync(join(dir, 'agent', 'pulled-images.json'), 'utf8')) as {
      images: { references: string[] }[];
    };
    assert.deepEqual(record.images.map((entry) => entry.references).sort(), [['gc-new:v1'], ['gc-old:v1']]);
    // The agent's report: gc-old pulled by Skiff and unused (so a pass ran and kept it), gc-new in use.
    const listed = await eventually(
      'gc-old:v1 reported unused',
      async () => {
        const rows = await images();
        const old = rows.find((r) => r.repository === 'gc-old' && r.tag === 'v1');
        return old?.pulled_by_skiff && old.in_use_count === 0 ? rows : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const row = (repository: string) => listed.find((r) => r.repository === repository && r.tag === 'v1');
    assert.equal(row('gc-new')?.pulled_by_skiff, true);
    assert.equal(row('gc-new')?.in_use_count, 1);
    assert.match(row('gc-new')?.in_use_by[0] ?? '', /^gc-web-0/);
    assert.equal(row('gc-local')?.pulled_by_skiff, false);
    assert.equal(await present('gc-old:v1'), true, 'not collected below the high-water mark');

    const ls = await skiff.cli(['image', 'ls', '--node', 'gc-node']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^gc-node\s+gc-new:v1\s+\w{12}\s+\S+\s+gc-web-0\S*\s+yes$/m);
    assert.match(ls.stdout, /^gc-node\s+gc-local:v1\s+\w{12}\s+\S+\s+-\s+no$/m);

    const prune = await skiff.cli(['image', 'prune', '--node', 'gc-node', '-o', 'json']);
    assert.equal(prune.code, 0, prune.stderr);
    const result = imagePruneViewSchema.parse(JSON.parse(prune.stdout));
    assert.deepEqual(
      result.nodes.map((n) => [n.node, n.error, n.removed.map((r) => r.references)]),
      [['gc-node', null, [['gc-old:v1']]]],
    );
    assert.equal(await present('gc-old:v1'), false);
    assert.equal(await present('gc-new:v1'), true, 'an image in use stays');
    assert.equal(await present('gc-local:v1'), true, 'a locally built image stays');
    assert.equal(await present('skiff-demo:v1'), true, 'an image Skiff did not pull stays');
  });

  test('past the high-water mark the oldest unused Skiff-pulled image goes at once, used and local ones stay', async () => {
    agent?.stop();
    // 1%: this machine's disk is past it; 0%: collect every candidate. The record survives the restart.
    await startAgent(1, 0);
    await rollTo('gc-old:v1');
    await eventually('gc-new:v1 collected', async () => !(await present('gc-new:v1')), { timeoutMs: 20_000 });
    assert.equal(await present('gc-old:v1'), true, 'the image a replica runs stays');
    assert.equal(await present('gc-local:v1'), true, 'a locally built image stays');
    assert.equal(await present('skiff-demo:v1'), true, 'an image Skiff did not pull stays');
    const events = await eventually(
      'the removal as an event',
      async () => {
        const body = (await skiff.api('GET', '/api/events?limit=200')).body as {
          type: string;
          message: string;
        }[];
        return body.find((e) => e.type === 'image' && e.message.startsWith('Removed unused image gc-new:v1'));
      },
      { timeoutMs: 20_000 },
    );
    assert.match(events.message, /: disk \d+% used ≥ 1%$/);
  });
});
