/**
 * Real engine: `skiff logs -f` follows the service, as `kubectl logs -f` users wish it did.
 * Started before any replica runs, it keeps waiting and shows the first replica's lines; after
 * that replica's container is killed, the replacement's lines come in the same stream.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { docker } from './support/docker.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');
const STARTING = /web-0\s*\| demo v1 starting as web-0/g;

/** Start lines of web-0 in an NDJSON stream. */
function countStarts(ndjson: string): number {
  return ndjson
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { container: string; line: string })
    .filter((log) => log.container === 'web-0' && /demo v1 starting as web-0/.test(log.line)).length;
}

let skiff: SkiffCluster;
let follower: ChildProcess | undefined;
let output = '';

before(async () => {
  skiff = await SkiffCluster.start('up');
});
after(async () => {
  if (follower && follower.exitCode === null) follower.kill('SIGKILL');
  await skiff?.stop();
});

test('logs -f waits for a first replica, then follows it through a replacement', {
  timeout: 120_000,
}, async () => {
  const deployed = await skiff.cli([
    'deploy',
    '--name',
    'web',
    '--image',
    'skiff-demo:v1',
    '--replicas',
    '0',
    '--port',
    '8080',
    '--detach',
  ]);
  assert.equal(deployed.code, 0, deployed.stderr);

  follower = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'logs', 'web', '-f'], {
    env: { ...process.env, SKIFF_SERVER: skiff.url, SKIFF_DATA_DIR: skiff.dataDir, SKIFF_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => follower?.once('exit', (code) => done(code)));
  follower.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  follower.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  // The same through the API, to know the server is following before anything is placed: the
  // answer's headers come once its follower runs. Nothing placed used to end the stream at once.
  const api = new AbortController();
  const response = await fetch(`${skiff.url}/api/services/web/logs?follow=true&format=ndjson`, {
    headers: { authorization: `Bearer ${skiff.token}` },
    signal: api.signal,
  });
  assert.equal(response.status, 200);
  let streamed = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of response.body ?? []) streamed += decoder.decode(chunk, { stream: true });
  })().catch(() => {});
  await eventually('the CLI follower running', () => follower?.exitCode === null && output === '');
  const scaled = await skiff.cli(['scale', 'web', '--replicas', '1']);
  assert.equal(scaled.code, 0, scaled.stderr);
  assert.equal(follower.exitCode, null, `logs -f ended while nothing was placed:\n${output}`);

  await eventually('the first replica in the stream', () => (output.match(STARTING)?.length ?? 0) >= 1, {
    timeoutMs: 30_000,
  });
  const [first] = (await skiff.containers('web')).filter((c) => c.state === 'running');
  assert.ok(first, 'a running replica');
  await docker.getContainer(first.id).kill();

  await eventually(
    "the replacement's lines in the same stream",
    async () => {
      const replacement = (await skiff.containers('web')).find(
        (c) => c.state === 'running' && c.id !== first.id,
      );
      return replacement !== undefined && (output.match(STARTING)?.length ?? 0) >= 2;
    },
    { timeoutMs: 30_000 },
  );
  assert.equal(follower.exitCode, null, 'still following');
  await eventually('both replicas in the API stream too', () => countStarts(streamed) >= 2, {
    timeoutMs: 10_000,
  });
  api.abort();
  await reading;

  follower.kill('SIGINT');
  assert.equal(await exited, 0, 'Ctrl-C ends it cleanly');
});
