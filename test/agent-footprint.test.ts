/**
 * What `skiff agent`'s process loads, as a real process started the way bin/skiff starts it (no
 * Docker engine needed: it stops where it finds no engine at --docker-host, after its modules,
 * dockerode included, have loaded). Every module kept out is code and objects off every host's
 * agent (README: the agent's footprint).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { packageOf, writeLoadRecorder } from './support/load-recorder.ts';

const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'skiff-footprint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const RECORDER = writeLoadRecorder(dir);

const JOIN_TOKEN = `SKIFF-1-${'0'.repeat(64)}-${'s'.repeat(32)}`;

/** The URLs `skiff agent ARGS` loaded before it exited (1: no engine at the address). */
function agentLoads(name: string, args: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const loadsFile = join(dir, `${name}.json`);
  const result = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--import', RECORDER, MAIN, 'agent', ...args],
    {
      env: { ...process.env, ...env, SKIFF_LOADS_FILE: loadsFile },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /cannot reach the Docker engine at unix:\/\/\/nonexistent\.sock/);
  return JSON.parse(readFileSync(loadsFile, 'utf8')) as string[];
}

const commonArgs = [
  '--server',
  'http://127.0.0.1:9',
  '--join-token',
  JOIN_TOKEN,
  '--data-dir',
  join(dir, 'agent'),
  '--docker-host',
  'unix:///nonexistent.sock',
];

test('`skiff agent` loads dockerode without its BuildKit session or SSH transport, and no YAML parser, hono or undici', () => {
  const loaded = agentLoads('plain', commonArgs);
  const packages = new Set(loaded.map(packageOf).filter((name) => name !== undefined));
  // The recorder sees the agent and the Docker client: the absences below are real.
  assert.ok(
    loaded.some((url) => url.endsWith('/src/agent/agent.ts')),
    'the agent is loaded',
  );
  assert.ok(
    loaded.some((url) => url.endsWith('/dockerode/lib/docker.js')),
    'dockerode is loaded',
  );
  assert.ok(
    loaded.some((url) => url.endsWith('/docker-modem/lib/modem.js')),
    'docker-modem is loaded',
  );
  const unwanted = [
    '@grpc/grpc-js',
    '@grpc/proto-loader',
    'protobufjs',
    'ssh2',
    'cpu-features',
    'yaml',
    'hono',
  ];
  assert.deepEqual(
    unwanted.filter((name) => packages.has(name)),
    [],
    'deferred until used (src/docker/deferred-requires.ts) or imported where used',
  );
  // Node's fetch and WebSocket: an ESM import of node:http reads its lazy getters, which load it.
  assert.ok(loaded.includes('node-internal:NativeModule internal/http'), 'node:http is loaded');
  assert.deepEqual(
    loaded.filter((name) => name.includes('internal/deps/undici')),
    [],
    'node:http is taken with process.getBuiltinModule',
  );
});

test('`skiff agent --config FILE` loads the YAML parser to read it', () => {
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, 'name: footprint-1\n');
  const loaded = agentLoads('config', [...commonArgs, '--config', config]);
  assert.ok(loaded.some((url) => packageOf(url) === 'yaml'));
});

test('`skiff agent` on a cold compile cache restarts warm: the process that runs holds no TypeScript stripper', () => {
  // The recorder is in the restarted image too (--import is one of its Node options); the cold
  // image's exit handlers never run, so the list is the warm one's.
  const loaded = agentLoads('cold', commonArgs, { NODE_COMPILE_CACHE: join(dir, 'cold-cache') });
  assert.ok(
    loaded.some((url) => url.endsWith('/src/agent/agent.ts')),
    'the agent is loaded',
  );
  assert.deepEqual(
    loaded.filter((name) => name.includes('internal/deps/amaro')),
    [],
    'src/cli/warm-restart.ts',
  );
});
