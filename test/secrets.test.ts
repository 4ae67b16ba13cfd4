/**
 * Secrets on the real engine: a replica reads its secret at /run/secrets/NAME and its config at
 * its target; the value is in neither the container's environment nor anything the engine
 * reports, nor in skiff.db in clear (the file is grepped), nor on the agent's disk; the files live
 * on a tmpfs; updating the secret rolls the service and the new replica reads the new value.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ServiceView } from '../src/model/views.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { docker, execIn } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const TMPFS_MAGIC = 0x01021994;
const VALUE = `s3cret-${process.pid}-never-in-clear`;
const VALUE2 = `${VALUE}-rotated`;

/** The file's text as the replica sees it (`cat` inside the container). */
async function cat(containerId: string, path: string): Promise<string> {
  return (await execIn(containerId, `cat '${path}'`)).out;
}

function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (readFileSync(path).includes(needle)) found.push(path);
  }
  return found;
}

describe('secrets on a real cluster', { timeout: 180_000 }, () => {
  const secretsDir = mkdtempSync(join(tmpdir(), 'skiff-secrets-tmpfs-'));
  let skiff: SkiffCluster;
  before(async () => {
    skiff = await SkiffCluster.start('up', { serverArgs: ['--secrets-dir', secretsDir] });
  });
  after(async () => {
    await skiff?.stop();
    // The tmpfs the agent mounted for this test (by its own path), then the directory.
    try {
      execFileSync('umount', [secretsDir]);
    } catch {
      // Not mounted (the test failed before any secret was written).
    }
    rmSync(secretsDir, { recursive: true, force: true });
  });

  const running = async (revision: number): Promise<ServiceView & { id: string }> =>
    await eventually(`web at revision ${revision} running`, async () => {
      const view = serviceViewSchema.parse((await skiff.api('GET', '/api/services/web')).body);
      const current = view.containers.filter(
        (c) => c.revision === revision && c.status === 'running' && c.id,
      );
      const id = current[0]?.id;
      if (view.revision === revision && current.length === 1 && view.containers.length === 1 && id)
        return { ...view, id };
      // Thrown, so a timeout says what the replicas were doing.
      throw new Error(JSON.stringify(view.containers.map((c) => [c.revision, c.status, c.message])));
    });

  test('readable in the replica; absent from its environment, the engine, skiff.db and the agent’s disk', async () => {
    const file = join(skiff.dataDir, 'value');
    writeFileSync(file, VALUE);
    const created = await skiff.cli(['secret', 'create', 'db-password', '-f', file]);
    assert.equal(created.code, 0, created.stderr);
    rmSync(file);
    const config = await skiff.api('POST', '/api/configs', {
      name: 'app.conf',
      data: Buffer.from('mode=prod\n').toString('base64'),
    });
    assert.equal(config.status, 201);
    const deployed = await skiff.api('POST', '/api/deploy', {
      name: 'web',
      image: 'skiff-demo:v1',
      replicas: 1,
      secrets: [{ name: 'db-password' }],
      configs: [{ name: 'app.conf', target: '/etc/app.conf' }],
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const { id } = await running(1);

    assert.equal(await cat(id, '/run/secrets/db-password'), VALUE);
    assert.equal(await cat(id, '/etc/app.conf'), 'mode=prod\n');
    const inspect = await docker.getContainer(id).inspect();
    assert.ok(!JSON.stringify(inspect).includes(VALUE), 'the engine knows nothing of the value');
    assert.ok(!(inspect.Config.Env ?? []).some((e) => e.includes(VALUE)));
    const bind = inspect.HostConfig.Binds?.find((b) => b.endsWith(':/run/secrets/db-password:ro'));
    assert.ok(bind, JSON.stringify(inspect.HostConfig.Binds));
    assert.equal(statfsSync(secretsDir).type, TMPFS_MAGIC, 'the files are on a tmpfs');

    assert.deepEqual(
      filesContaining(skiff.dataDir, VALUE),
      [],
      'skiff.db (and the agent data dir) hold no clear value',
    );
    const ps = await skiff.cli(['ps', 'web']);
    const events = await skiff.cli(['events']);
    assert.ok(!`${ps.stdout}${events.stdout}${skiff.output.join('\n')}`.includes(VALUE));
  });

  test('updating the secret rolls the service and the new replica reads the new value', async () => {
    const updated = await skiff.api('POST', '/api/secrets', {
      name: 'db-password',
      data: Buffer.from(VALUE2).toString('base64'),
    });
    assert.equal(updated.status, 200);
    const { id } = await running(2);
    assert.equal(await cat(id, '/run/secrets/db-password'), VALUE2);
    assert.deepEqual(filesContaining(skiff.dataDir, VALUE2), []);
  });
});
