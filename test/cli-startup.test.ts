/**
 * The process commands as a new user meets them, as real processes (no Docker engine needed):
 * help, a wrong flag, and no engine at the address given.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');
const dataDir = mkdtempSync(join(tmpdir(), 'skiff-startup-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs `skiff ARGS`; a process still running after `deadlineMs` is killed and fails the test. */
function skiff(
  args: string[],
  deadlineMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, DOCKER_HOST: '', SKIFF_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`skiff ${args.join(' ')} still running after ${deadlineMs} ms:\n${stdout}${stderr}`));
    }, deadlineMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

test('skiff up with no engine at --docker-host says what is wrong and what to do, and exits 1', async () => {
  const result = await skiff([
    'up',
    '--docker-host',
    'unix:///nonexistent.sock',
    '--port',
    '0',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /^error: cannot reach the Docker engine at unix:\/\/\/nonexistent.sock: there is no socket there \(ENOENT\)/,
  );
  assert.match(result.stderr, /Is dockerd running\?/);
  assert.match(result.stderr, /the one given with --docker-host/);
  assert.doesNotMatch(result.stdout, /Skiff is up/);
});

test('skiff agent with no engine says the same', async () => {
  const result = await skiff([
    'agent',
    '--server',
    'http://127.0.0.1:1',
    // Well formed (the CA digest is checked only once the engine is there to join with).
    `--join-token=SKIFF-1-${'0'.repeat(64)}-${'s'.repeat(32)}`,
    '--docker-host',
    'unix:///nonexistent.sock',
    '--data-dir',
    join(dataDir, 'agent'),
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /cannot reach the Docker engine at unix:\/\/\/nonexistent.sock/);
});

test('process commands: --help exits 0, an unknown flag exits 2', async () => {
  for (const command of ['up', 'server', 'agent']) {
    const help = await skiff([command, '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^usage: skiff ${command}`));
    const bogus = await skiff([command, '--bogus']);
    assert.equal(bogus.code, 2, bogus.stderr);
    assert.match(bogus.stderr, /Unknown option '--bogus'/);
  }
});
