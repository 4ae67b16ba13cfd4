/**
 * Real engine: `skiff top` in a real terminal (tmux on a socket of this test's own, driven by
 * send-keys and read by capture-pane) against `skiff up` with a real container. It shows the
 * deployed service running; `s 3 Enter` scales it through the API and the screen shows three
 * running replicas without being restarted; `/` filters; `q` quits.
 */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';
import { TmuxTerminal } from './support/tmux.ts';

const BIN = resolve(import.meta.dirname, '../bin/skiff');
const terminal = new TmuxTerminal('top');

let skiff: SkiffCluster;

before(async () => {
  skiff = await SkiffCluster.start('up');
});
after(async () => {
  await terminal.kill();
  await skiff?.stop();
});

const screenShows = (what: string, pattern: RegExp, timeoutMs?: number) =>
  terminal.shows(what, pattern, timeoutMs);

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
  await terminal.start(`env ${env} ${BIN} top`, { cols: 140, rows: 45 });

  const first = await screenShows('the service running 1/1', /> web +running +1\/1 +healthy +skiff-demo:v1/);
  assert.match(first, /\[live\] +admin \(admin\)/);
  assert.match(first, /REPLICAS of web \(1\)/);
  assert.match(first, /web-0 +running +\S+ +\S+/);
  assert.match(first, /NODES \(1\)/);
  assert.match(first, /Service web created/);

  await terminal.keys('s');
  await screenShows('the scale prompt', /scale web \(now 1\) to: _/);
  await terminal.keys('3', 'Enter');
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

  await terminal.keys('/', 'n', 'o', 'p', 'e', 'Enter');
  await screenShows('the filter hiding the service', /SERVICES \(0\) +filter: nope/);
  await terminal.keys('Escape', 'q');
  await eventually('top to quit (its tmux session ends)', async () => !(await terminal.running()));
});
