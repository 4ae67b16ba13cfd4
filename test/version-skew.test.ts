/**
 * A rolling upgrade from the previous release, on the real engine: a cluster of the previous
 * release's server, agent and CLI (a git worktree of its tag, node_modules linked to this
 * checkout's), then this release's server on the same data dir and port, then this release's
 * agent. Throughout, the previous release's CLI keeps working against the new server, and no
 * container is restarted: the replicas that ran before the upgrade are the ones running after.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually } from './support/eventually.ts';
import { CHECKOUT_SKIFF, checkoutSkiff, SkiffCluster } from './support/skiff-cluster.ts';

const ROOT = resolve(import.meta.dirname, '..');
/** The previous release: its tag, or the commit it names when the tag is not in this clone. */
const PREVIOUS_RELEASE = { tag: 'v0.1.0', commit: '4544252220117b33d2c9035b01d0b06b5b1a8105' };

const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).trim();

function previousReleaseCommit(): string {
  try {
    return git('rev-parse', '--verify', '--quiet', `${PREVIOUS_RELEASE.tag}^{commit}`);
  } catch {
    return PREVIOUS_RELEASE.commit;
  }
}

let previous: string;
let skiff: SkiffCluster;

async function runningIds(name: string): Promise<string[]> {
  return (await skiff.containers(name))
    .filter((c) => c.state === 'running')
    .map((c) => c.id)
    .sort();
}

describe('upgrading from the previous release one process at a time', { timeout: 180_000 }, () => {
  before(() => {
    previous = mkdtempSync(join(tmpdir(), 'skiff-previous-'));
    rmSync(previous, { recursive: true });
    git('worktree', 'add', '--detach', previous, previousReleaseCommit());
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(previous, 'node_modules'));
  });
  after(async () => {
    await skiff?.stop();
    if (existsSync(previous)) git('worktree', 'remove', '--force', previous);
  });

  test('servers first, then agents; the old CLI keeps working and no container restarts', async () => {
    const old = checkoutSkiff(previous);
    skiff = await SkiffCluster.start('split', { commands: { server: old, agent: old, cli: old } });
    const deployed = await skiff.cli([
      'deploy',
      '--name',
      'web',
      '--image',
      'skiff-demo:v1',
      '--replicas',
      '2',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const before = await runningIds('web');
    assert.equal(before.length, 2);

    // 1. The server: stopped and started again from this release, on the same data dir and port.
    await skiff.kill('server');
    skiff.commands = { ...skiff.commands, server: CHECKOUT_SKIFF };
    await skiff.startServer();
    await skiff.waitForNode();
    const version = (await skiff.api('GET', '/api/version')).body as {
      version: string;
      agent_protocols: unknown;
    };
    assert.ok(version.agent_protocols, 'the new server answers /api/version');

    // The previous release's agent and CLI, against the new server.
    const scaled = await skiff.cli(['scale', 'web', '--replicas', '3']);
    assert.equal(scaled.code, 0, scaled.stderr);
    const listed = await skiff.cli(['ps']);
    assert.match(listed.stdout, /web +running +3\/3 +healthy/);
    const three = await runningIds('web');
    assert.equal(three.length, 3);
    assert.ok(
      before.every((id) => three.includes(id)),
      'the server upgrade restarted no container',
    );

    // 2. The agent: this release's, on the old agent's data dir.
    await skiff.kill('agent');
    skiff.commands = { ...skiff.commands, agent: CHECKOUT_SKIFF, cli: CHECKOUT_SKIFF };
    await skiff.startAgent();
    await eventually('the upgraded agent to report the replicas running', async () => {
      const ps = await skiff.cli(['ps', '-o', 'json']);
      const services = JSON.parse(ps.stdout || '[]') as { name: string; running: number }[];
      return services.find((s) => s.name === 'web')?.running === 3;
    });
    assert.deepEqual(await runningIds('web'), three, 'the agent upgrade restarted no container');
    const events = await skiff.cli(['events', '--service', 'web', '-o', 'json']);
    const messages = (JSON.parse(events.stdout) as { message: string }[]).map((e) => e.message);
    assert.ok(!messages.some((m) => /^Restarting |exited|died/.test(m)), messages.join('\n'));
  });
});
