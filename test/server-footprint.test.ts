/**
 * What `skiff server` on SQLite (the default store) loads, as a real process: started, waited for
 * until it listens, stopped with SIGTERM. Every module kept out is code and objects off the
 * control plane's memory (README: the server's memory at 1,000 nodes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { packageOf, writeLoadRecorder } from './support/load-recorder.ts';

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'skiff-server-footprint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const RECORDER = writeLoadRecorder(dir);

/** The URLs `skiff server` loaded, started on SQLite and stopped with SIGTERM once it listens. */
async function serverLoads(
  name: string,
  env: NodeJS.ProcessEnv = {},
  whileUp: (url: string, token: string) => Promise<void> = async () => {},
): Promise<string[]> {
  const loadsFile = join(dir, `${name}.json`);
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      '--import',
      RECORDER,
      MAIN,
      'server',
      '--data-dir',
      join(dir, name),
      '--listen',
      '127.0.0.1',
      '--port',
      '0',
    ],
    { env: { ...process.env, ...env, SKIFF_LOADS_FILE: loadsFile }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const listening = new Promise<void>((resolveListening, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('skiff server listening on')) resolveListening();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${output}`)));
  });
  await listening;
  const port = /listening on [^:]+:(\d+)/.exec(output)?.[1];
  await whileUp(`http://127.0.0.1:${port}`, readFileSync(join(dir, name, 'admin.token'), 'utf8').trim());
  // Its SIGTERM handler is in before that line is written (src/cli/process-commands.ts).
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, output);
  return JSON.parse(readFileSync(loadsFile, 'utf8')) as string[];
}

test('`skiff server` on SQLite loads no etcd client, gRPC or protobufjs, and no YAML parser until a Compose file comes', {
  timeout: 60_000,
}, async () => {
  const loaded = await serverLoads('plain');
  const packages = new Set(loaded.map(packageOf).filter((name) => name !== undefined));
  // The recorder sees the server and its store: the absences below are real.
  assert.ok(
    loaded.some((url) => url.endsWith('/src/server/skiff-server.ts')),
    'the server is loaded',
  );
  assert.ok(
    loaded.some((url) => url.endsWith('/src/store/sqlite-store.ts')),
    'the SQLite store is loaded',
  );
  const unwanted = ['etcd3', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'cockatiel'];
  assert.deepEqual(
    unwanted.filter((name) => packages.has(name)),
    [],
    'imported with the etcd store (src/store/store-url.ts, src/server/skiff-server.ts)',
  );
  assert.equal(
    packages.has('yaml'),
    false,
    'imported at the first Compose request (src/api/stack-routes.ts)',
  );
});

test('`skiff server` on a cold compile cache restarts warm: the process that serves holds no TypeScript stripper', {
  timeout: 60_000,
}, async () => {
  // The recorder is in the restarted image too (--import is one of its Node options); the cold
  // image's exit handlers never run, so the list is the warm one's.
  // A Compose file: its reader is imported then, from the cache the cold image filled.
  const loaded = await serverLoads(
    'cold',
    { NODE_COMPILE_CACHE: join(dir, 'cold-cache') },
    async (url, token) => {
      const response = await fetch(`${url}/api/stacks/shop/compose`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'services:\n  web:\n    image: skiff-demo:v1\n' }),
      });
      assert.ok(response.status < 500, `${response.status} ${await response.text()}`);
    },
  );
  assert.ok(
    loaded.some((url) => packageOf(url) === 'yaml'),
    'the Compose request loaded the YAML parser',
  );
  assert.ok(
    loaded.some((url) => url.endsWith('/src/server/skiff-server.ts')),
    'the server is loaded',
  );
  assert.deepEqual(
    loaded.filter((name) => name.includes('internal/deps/amaro')),
    [],
    'src/cli/warm-restart.ts',
  );
});
