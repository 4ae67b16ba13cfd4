/**
 * Real engine: `skiff top` in a real terminal (tmux on a socket of this test's own, driven by
 * send-keys and read by capture-pane) against `skiff up` with a real container. It shows the
 * deployed service running; `s 3 Enter` scales it through the API and the screen shows three
 * running replicas without being restarted; `/` filters; `q` quits.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../bin/skiff');
/** A tmux server of this test's own: its socket name is unique to this process. */
const SOCKET = `skiff-top-test-${process.pid}`;
const tmux = (...args: string[]) => run('tmux', ['-L', SOCKET, ...args]);

let skiff: SkiffCluster;
let tmuxStarted = false;

before(async () => {
  skiff = await SkiffCluster.start('up');
});
after(async () => {
  if (tmuxStarted) await tmux('kill-server').catch(() => {});
  await skiff?.stop();
});

async function screen(): Promise<string> {
  return (await tmux('capture-pane', '-p', '-t', 'top')).stdout;
}

/** Waits until the screen matches, and returns it; the last screen is in the failure. */
function screenShows(what: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return eventually(
    what,
    async () => {
      const text = await screen();
      return pattern.test(text) ? text : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  ).catch(async (error: Error) => {
    throw new Error(`${error.message}\n--- screen ---\n${await screen().catch(() => '(gone)')}`);
  });
}

test('skiff top shows a deployed service and reacts to a scale made from its keys', {
  timeout: 180_000,
}, async () => {
  const deployed = await skiff.cli([
    'deploy',
    '--name',
    'web',
    '--image',
    'skiff-demo:v1',
    '--replicas',
    '1',
    '--port',
    '8080',
    '--memory',
    '32m',
  ]);
  assert.equal(deployed.code, 0, deployed.stderr);

  const env = `SKIFF_SERVER=${skiff.url} SKIFF_DATA_DIR=${skiff.dataDir} SKIFF_TOKEN= NO_COLOR=1`;
  await tmux('new-session', '-d', '-s', 'top', '-x', '140', '-y', '45', `env ${env} ${BIN} top`);
  tmuxStarted = true;

  const first = await screenShows('the service running 1/1', /> web +running +1\/1 +healthy +skiff-demo:v1/);
  assert.match(first, /\[live\] +admin \(admin\)/);
  assert.match(first, /REPLICAS of web \(1\)/);
  assert.match(first, /web-0 +running +\S+ +\S+/);
  assert.match(first, /NODES \(1\)/);
  assert.match(first, /Service web created/);

  await tmux('send-keys', '-t', 'top', 's');
  await screenShows('the scale prompt', /scale web \(now 1\) to: _/);
  await tmux('send-keys', '-t', 'top', '3', 'Enter');
  const scaled = await screenShows(
    'three running replicas',
    /> web +running +3\/3 +healthy[\s\S]*REPLICAS of web \(3\)[\s\S]*web-2 +running/,
    90_000,
  );
  assert.match(scaled, /scaled web to 3 replica\(s\)/);
  assert.match(scaled, /Scaled web from 1 to 3 replica\(s\) \(by token admin\)/);
  const service = await skiff.api('GET', '/api/services/web');
  assert.equal((service.body as { replicas: number }).replicas, 3, 'the scale went through the API');

  // The agent's stats reach the replicas pane through the stream (two 5 s samples make a CPU %).
  await screenShows('a replica’s CPU and memory', /web-0 +running +\S+ +\S+ +\d+ +\d+ +\d+\.\d% +\d/, 45_000);

  // Not on a terminal: plain tables, no escape codes.
  const plain = await skiff.cli(['top', '--once']);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^SERVICES \(1\)\nNAME +STATUS +REPLICAS/);
  assert.match(plain.stdout, /web +running +3\/3/);
  assert.match(plain.stdout, /REPLICAS of web \(3\)/);
  assert.ok(!plain.stdout.includes('\u001b'), 'no escape codes when stdout is not a terminal');

  await tmux('send-keys', '-t', 'top', '/', 'n', 'o', 'p', 'e', 'Enter');
  await screenShows('the filter hiding the service', /SERVICES \(0\) +filter: nope/);
  await tmux('send-keys', '-t', 'top', 'Escape', 'q');
  await eventually('top to quit (its tmux session ends)', async () => {
    const sessions = await tmux('list-sessions').catch(() => ({ stdout: '' }));
    return !sessions.stdout.includes('top:');
  });
});
