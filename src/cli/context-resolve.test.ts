/**
 * Saved contexts in the connection's resolution: which context applies (--context, SKIFF_CONTEXT,
 * the current one), what it gives (servers, token, CA), and that flags, SKIFF_* variables and a
 * named data dir still win; a context never picks up the local data dir's admin token.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConnectionSources, resolveConnection } from './connection.ts';
import { contextConfigPath, parseContextConfig } from './context-config.ts';
import { chooseContext, splitServerList } from './context-resolve.ts';
import { UsageError } from './errors.ts';

const HOME = '/home/ada';
const CONFIG = `${HOME}/.config/skiff/config`;
const config = JSON.stringify({
  current: 'prod',
  contexts: {
    prod: {
      servers: ['https://a.prod:8080', 'https://b.prod:8080/'],
      token: 'prod-token',
      ca_pem: 'PROD CA',
    },
    staging: { servers: ['https://staging:8080'] },
  },
});

function sources(env: Record<string, string>, files: Record<string, string> = {}): ConnectionSources {
  return { env, homeDir: HOME, readTextFile: (path) => files[path] };
}

const LOCAL = { [`${HOME}/.skiff/admin.token`]: 'local-token', [`${HOME}/.skiff/ca.crt`]: 'LOCAL CA' };

test('the current context gives the servers, the token and the CA', () => {
  const c = resolveConnection({}, sources({}, { ...LOCAL, [CONFIG]: config }));
  assert.equal(c.context, 'prod');
  assert.deepEqual(c.serverUrls, ['https://a.prod:8080', 'https://b.prod:8080']);
  assert.equal(c.serverUrl, 'https://a.prod:8080');
  assert.equal(c.token, 'prod-token');
  assert.equal(c.caPem, 'PROD CA');
});

test('--context beats SKIFF_CONTEXT, which beats the current one; "default" means none', () => {
  const files = { ...LOCAL, [CONFIG]: config };
  assert.equal(
    resolveConnection({ context: 'staging' }, sources({ SKIFF_CONTEXT: 'prod' }, files)).context,
    'staging',
  );
  assert.equal(resolveConnection({}, sources({ SKIFF_CONTEXT: 'staging' }, files)).context, 'staging');
  const none = resolveConnection({}, sources({ SKIFF_CONTEXT: 'default' }, files));
  assert.equal(none.context, undefined);
  assert.deepEqual(none.serverUrls, ['http://127.0.0.1:8080']);
  assert.equal(none.token, 'local-token');
  assert.equal(none.caPem, 'LOCAL CA');
});

test('a context without a token or CA never takes the local data dir’s', () => {
  const c = resolveConnection({ context: 'staging' }, sources({}, { ...LOCAL, [CONFIG]: config }));
  assert.equal(c.token, undefined, 'the local admin token must not go to another cluster');
  assert.equal(c.caPem, undefined, 'verified against the system CAs only (an operator certificate)');
});

test('flags and SKIFF_* variables win over the context, field by field', () => {
  const files = {
    ...LOCAL,
    [CONFIG]: config,
    '/f/ca.pem': 'FLAG CA',
    '/srv/d/admin.token': 'dir-token',
    '/srv/d/ca.crt': 'DIR CA',
  };
  const flags = resolveConnection(
    { server: 'https://x:1,https://y:2', token: 'flag-token', ca: '/f/ca.pem' },
    sources({}, files),
  );
  assert.deepEqual(
    [flags.serverUrls, flags.token, flags.caPem],
    [['https://x:1', 'https://y:2'], 'flag-token', 'FLAG CA'],
  );
  const env = resolveConnection(
    {},
    sources({ SKIFF_SERVER: 'https://e:3', SKIFF_TOKEN: 'env-token' }, files),
  );
  assert.deepEqual([env.serverUrls, env.token, env.caPem], [['https://e:3'], 'env-token', 'PROD CA']);
  // A data dir named explicitly is a setting given: its token and CA beat the context's.
  const dir = resolveConnection({ 'data-dir': '/srv/d' }, sources({}, files));
  assert.deepEqual([dir.serverUrls[0], dir.token, dir.caPem], ['https://a.prod:8080', 'dir-token', 'DIR CA']);
});

test('a context named but not saved is a usage error listing the saved ones', () => {
  const files = { [CONFIG]: config };
  assert.throws(
    () => resolveConnection({ context: 'qa' }, sources({}, files)),
    (e: unknown) =>
      e instanceof UsageError && /--context: no context named qa \(saved: prod, staging/.test(e.message),
  );
  assert.throws(
    () => resolveConnection({}, sources({ SKIFF_CONTEXT: 'qa' }, files)),
    (e: unknown) => e instanceof UsageError && /^SKIFF_CONTEXT: no context named qa/.test(e.message),
  );
  const dangling = JSON.stringify({ current: 'gone', contexts: {} });
  assert.throws(
    () => chooseContext(undefined, {}, parseContextConfig(dangling, CONFIG)),
    /the current context: no context named gone \(none saved/,
  );
});

test('the config file: XDG_CONFIG_HOME (absolute only), else ~/.config; bad content names the file', () => {
  assert.equal(contextConfigPath({}, HOME), CONFIG);
  assert.equal(contextConfigPath({ XDG_CONFIG_HOME: '/xdg' }, HOME), '/xdg/skiff/config');
  assert.equal(contextConfigPath({ XDG_CONFIG_HOME: 'relative' }, HOME), CONFIG);
  assert.deepEqual(parseContextConfig(undefined, CONFIG), { contexts: {} });
  assert.throws(() => parseContextConfig('{', CONFIG), /\/home\/ada\/\.config\/skiff\/config is not JSON/);
  assert.throws(
    () => parseContextConfig(JSON.stringify({ contexts: { p: { servers: ['ftp://x'] } } }), CONFIG),
    /config: contexts\.p\.servers\.0: must be an http\(s\) URL/,
  );
  assert.deepEqual(splitServerList(' https://a:1/, https://b:2 ,'), ['https://a:1', 'https://b:2']);
});
