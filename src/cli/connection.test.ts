import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConnectionSources, resolveConnection } from './connection.ts';

function sources(env: Record<string, string>, files: Record<string, string> = {}): ConnectionSources {
  return { env, homeDir: '/home/ada', readTextFile: (path) => files[path] };
}

test('defaults: local server, token from ~/.skiff/admin.token, trimmed', () => {
  assert.deepEqual(resolveConnection({}, sources({}, { '/home/ada/.skiff/admin.token': ' s3cret\n' })), {
    serverUrl: 'http://127.0.0.1:8080',
    serverUrls: ['http://127.0.0.1:8080'],
    context: undefined,
    token: 's3cret',
    tokenFile: '/home/ada/.skiff/admin.token',
    caPem: undefined,
  });
});

test('flags win over the environment, which wins over the defaults', () => {
  const env = { SKIFF_SERVER: 'http://env:1', SKIFF_TOKEN: 'env-token', SKIFF_DATA_DIR: '/srv/skiff' };
  const files = { '/srv/skiff/admin.token': 'file-token', '/opt/d/admin.token': 'flag-dir-token' };
  assert.deepEqual(resolveConnection({}, sources(env, files)), {
    serverUrl: 'http://env:1',
    serverUrls: ['http://env:1'],
    context: undefined,
    token: 'env-token',
    tokenFile: '/srv/skiff/admin.token',
    caPem: undefined,
  });
  const flags = { server: 'https://flag:2/', token: 'flag-token', 'data-dir': '/opt/d' };
  assert.deepEqual(resolveConnection(flags, sources(env, files)), {
    serverUrl: 'https://flag:2',
    serverUrls: ['https://flag:2'],
    context: undefined,
    token: 'flag-token',
    tokenFile: '/opt/d/admin.token',
    caPem: undefined,
  });
  const { SKIFF_TOKEN: _, ...withoutToken } = env;
  assert.equal(resolveConnection({}, sources(withoutToken, files)).token, 'file-token');
  assert.equal(
    resolveConnection({ 'data-dir': '/opt/d' }, sources(withoutToken, files)).token,
    'flag-dir-token',
  );
});

test('the cluster CA: --ca, then SKIFF_CA, then the data dir ca.crt; a named file that cannot be read is a usage error', () => {
  const files = { '/f/ca.pem': 'FLAG', '/e/ca.pem': 'ENV', '/home/ada/.skiff/ca.crt': 'DIR' };
  assert.equal(
    resolveConnection({ ca: '/f/ca.pem' }, sources({ SKIFF_CA: '/e/ca.pem' }, files)).caPem,
    'FLAG',
  );
  assert.equal(resolveConnection({}, sources({ SKIFF_CA: '/e/ca.pem' }, files)).caPem, 'ENV');
  assert.equal(resolveConnection({}, sources({}, files)).caPem, 'DIR');
  assert.equal(resolveConnection({}, sources({})).caPem, undefined);
  assert.throws(() => resolveConnection({ ca: '/nope' }, sources({})), /--ca: cannot read \/nope/);
});

test('no token anywhere is not an error here: the server decides', () => {
  assert.equal(resolveConnection({}, sources({})).token, undefined);
});

test('a server that is not an http URL is a usage error naming where it came from', () => {
  assert.throws(
    () => resolveConnection({ server: 'localhost:8080' }, sources({})),
    /--server must be an http/,
  );
  assert.throws(
    () => resolveConnection({}, sources({ SKIFF_SERVER: 'ftp://x' })),
    /SKIFF_SERVER must be an http/,
  );
});
