/**
 * Saved contexts, round trip through the real CLI against a real `skiff server` over https (no
 * Docker needed): `context add` keeps the servers, token and CA in $XDG_CONFIG_HOME/skiff/config
 * (0600, directory 0700); client commands then verify the server against that CA and send that
 * token; a context without the CA is refused verification (never turned off); SKIFF_* variables
 * beat the context; several servers are tried in order; `use`, `ls` and `rm` do what they say.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SkiffCluster } from './support/skiff-cluster.ts';

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');
let skiff: SkiffCluster;
let home: string;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI with a home and config dir of the test's own, and no SKIFF_* but those given. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SKIFF_')));
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], {
    env: { ...clean, HOME: home, XDG_CONFIG_HOME: join(home, 'xdg'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  return { code, stdout, stderr };
}

describe('saved contexts', { timeout: 120_000 }, () => {
  let https = '';
  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'skiff-context-home-'));
    skiff = await SkiffCluster.startServerOnly('127.0.0.1');
    https = `https://127.0.0.1:${skiff.port}`;
  });
  after(async () => {
    await skiff?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  test('add keeps servers, token and CA in a 0600 file in a 0700 dir; commands then use them over https', async () => {
    const added = await cli([
      'context',
      'add',
      'lab',
      '--server',
      https,
      '--token-file',
      join(skiff.dataDir, 'admin.token'),
      '--ca',
      skiff.caPath,
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added context lab \(current\)/);
    const file = join(home, 'xdg', 'skiff', 'config');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, 'xdg', 'skiff')).mode & 0o777, 0o700);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(saved.current, 'lab');
    assert.equal(saved.contexts.lab.token, skiff.token);
    assert.equal(saved.contexts.lab.ca_pem, skiff.caPem());

    const tokens = await cli(['token', 'ls']);
    assert.equal(tokens.code, 0, tokens.stderr);
    assert.match(tokens.stdout, /^NAME\s+ROLE/);
  });

  test('a context without the CA is not verified, and is not silently let through', async () => {
    assert.equal(
      (await cli(['context', 'add', 'no/ca', '--server', https])).code,
      2,
      'a name outside the pattern',
    );
    const added = await cli(['context', 'add', 'noca', '--server', https]);
    assert.equal(added.code, 0, added.stderr);
    assert.doesNotMatch(added.stdout, /current/, 'the first context stays current');
    const refused = await cli(['token', 'ls', '--context', 'noca']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /was not verified \(\w+\): pass the cluster CA with --ca FILE/);
    const viaEnv = await cli(['token', 'ls'], { SKIFF_CONTEXT: 'noca' });
    assert.equal(viaEnv.code, 1);
    assert.match(viaEnv.stderr, /was not verified/);
    // The variables beat what the context holds.
    const overridden = await cli(['token', 'ls'], {
      SKIFF_CONTEXT: 'noca',
      SKIFF_CA: skiff.caPath,
      SKIFF_TOKEN: skiff.token,
    });
    assert.equal(overridden.code, 0, overridden.stderr);
    const unknown = await cli(['token', 'ls', '--context', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--context: no context named nope \(saved: lab, noca/);
  });

  test('several servers are tried in order; use, ls and rm', async () => {
    const ha = await cli([
      'context',
      'add',
      'ha',
      '--server',
      `https://127.0.0.1:1,${https}`,
      '--token-file',
      join(skiff.dataDir, 'admin.token'),
      '--ca',
      skiff.caPath,
    ]);
    assert.equal(ha.code, 0, ha.stderr);
    assert.equal((await cli(['context', 'use', 'ha'])).code, 0);
    const tokens = await cli(['token', 'ls']);
    assert.equal(tokens.code, 0, tokens.stderr);
    const listed = await cli(['context', 'ls']);
    assert.match(
      listed.stdout,
      /^ha \*\s+https:\/\/127\.0\.0\.1:1,https:\/\/127\.0\.0\.1:\d+\s+saved\s+saved$/m,
    );
    assert.match(listed.stdout, /^noca\s+https:\/\/127\.0\.0\.1:\d+\s+-\s+system$/m);
    const json = JSON.parse((await cli(['context', 'ls', '--json'])).stdout) as {
      name: string;
      current: boolean;
    }[];
    assert.deepEqual(
      json.map((c) => [c.name, c.current]),
      [
        ['ha', true],
        ['lab', false],
        ['noca', false],
      ],
    );
    assert.equal((await cli(['context', 'rm', 'ha'])).code, 0);
    const after = JSON.parse(readFileSync(join(home, 'xdg', 'skiff', 'config'), 'utf8'));
    assert.equal(after.current, undefined, 'removing the current context leaves none current');
    assert.deepEqual(Object.keys(after.contexts).sort(), ['lab', 'noca']);
    // No context: the default server and ~/.skiff, which this home does not have.
    const none = await cli(['token', 'ls']);
    assert.equal(none.code, 1);
    assert.equal((await cli(['context', 'rm', 'ha'])).code, 2);
  });
});
