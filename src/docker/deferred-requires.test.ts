import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { DEFERRED_REQUIRES, deferredRequireFor, installDeferredRequires } from './deferred-requires.ts';

// Each test file runs in a process of its own: nothing has loaded dockerode before this.
installDeferredRequires();
const require = createRequire(import.meta.url);
const loaded = (name: string) =>
  Object.keys(require.cache).some((path) => path.includes(`/node_modules/${name}/`));

test('the list matches its own requests only', () => {
  assert.equal(
    deferredRequireFor('./session', 'file:///x/node_modules/dockerode/lib/docker.js'),
    DEFERRED_REQUIRES[0],
  );
  assert.equal(
    deferredRequireFor('./ssh', 'C:\\x\\node_modules\\docker-modem\\lib\\modem.js'),
    DEFERRED_REQUIRES[1],
  );
  assert.equal(
    deferredRequireFor('./session', 'file:///x/node_modules/dockerode/lib/container.js'),
    undefined,
  );
  assert.equal(deferredRequireFor('./util', 'file:///x/node_modules/dockerode/lib/docker.js'), undefined);
  assert.equal(deferredRequireFor('./ssh', undefined), undefined);
});

test('dockerode loads without its BuildKit session and SSH transport; each loads at its first call and works', async () => {
  const Docker = require('dockerode') as typeof import('dockerode');
  assert.ok(loaded('dockerode') && loaded('docker-modem'));
  assert.ok(!loaded('@grpc/grpc-js') && !loaded('protobufjs') && !loaded('ssh2'));

  // The SSH transport: a connection refused by ssh2's own client, so the real module ran.
  const docker = new Docker({ protocol: 'ssh', host: '127.0.0.1', port: 1, username: 'nobody' });
  await assert.rejects(docker.ping(), /ECONNREFUSED/);
  assert.ok(loaded('ssh2'));

  // The BuildKit session: its real function loads gRPC and dials the engine's /session endpoint.
  const local = new Docker();
  const dialled: string[] = [];
  local.modem.dial = (options, callback) => {
    dialled.push(String(options.path));
    callback?.(new Error('no engine here'), null);
  };
  await assert.rejects(local.buildImage(Readable.from([]), { version: '2' }), /no engine here/);
  assert.deepEqual(dialled, ['/session']);
  assert.ok(loaded('@grpc/grpc-js') && loaded('protobufjs'));
});
