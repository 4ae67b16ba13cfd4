/**
 * The dashboard's session on the Hono app: sign-in sets a cookie with the right attributes, the
 * cookie passes the same role checks as a bearer token, writes need the CSRF header, events name
 * the token, sign-out and a removed or expired token end the session, another server with the same
 * cluster key accepts the cookie (and one with another key does not), and the stream routes check
 * the `Origin` header.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createdTokenViewSchema } from '../model/access-views.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { createApp } from './app.ts';
import { deriveSessionKey, SESSION_COOKIE, SESSION_LIFETIME_MS } from './session-cookie.ts';
import { sessionViewSchema, snapshotMessageSchema } from './stream/messages.ts';
import type { ApiResponse, Fixture } from './test-fixture.ts';
import { ADMIN_TOKEN, createFixture, field } from './test-fixture.ts';

const CLUSTER_KEY = randomBytes(32);
const SESSION_KEY = deriveSessionKey(CLUSTER_KEY);
const SPEC = { name: 'web', image: 'skiff-demo:v1', replicas: 1 };

/** The `name=value` of the session cookie a response sets, and its attributes. */
function sessionCookie(res: ApiResponse): { pair: string; attributes: string[] } {
  const header = res.headers.get('set-cookie') ?? '';
  const [pair = '', ...attributes] = header.split(';').map((p) => p.trim());
  assert.ok(pair.startsWith(`${SESSION_COOKIE}=`), `no session cookie in ${JSON.stringify(header)}`);
  return { pair, attributes };
}

async function signIn(f: Fixture, token: string, headers: Record<string, string> = {}) {
  const res = await f.raw('/api/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token }),
  });
  assert.equal(res.status, 201, res.text);
  const view = sessionViewSchema.parse(res.body);
  return { cookie: sessionCookie(res).pair, csrf: view.csrf_token ?? '', view, res };
}

async function makeToken(f: Fixture, name: string, role: string, extra: object = {}): Promise<string> {
  const res = await f.call('POST', '/api/tokens', { name, role, ...extra });
  assert.equal(res.status, 201, res.text);
  return createdTokenViewSchema.parse(res.body).token;
}

/** A request with the cookie only (no Authorization header). */
function withCookie(
  f: Fixture,
  cookie: string,
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
) {
  return f.raw(path, {
    method,
    headers: {
      cookie,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

describe('sign-in', () => {
  let f: Fixture;
  before(() => {
    f = createFixture({ deps: { sessionKey: SESSION_KEY } });
  });
  after(() => f.close());

  test('a token becomes an HttpOnly, SameSite=Strict cookie with a lifetime, not Secure over plain HTTP', async () => {
    const { res, view } = await signIn(f, ADMIN_TOKEN);
    const { attributes } = sessionCookie(res);
    assert.ok(attributes.includes('HttpOnly'), attributes.join('; '));
    assert.ok(attributes.includes('SameSite=Strict'), attributes.join('; '));
    assert.ok(attributes.includes('Path=/'), attributes.join('; '));
    assert.ok(attributes.includes(`Max-Age=${SESSION_LIFETIME_MS / 1000}`), attributes.join('; '));
    assert.ok(!attributes.includes('Secure'), 'plain HTTP: a Secure cookie would never come back');
    assert.equal(view.name, 'admin');
    assert.equal(view.role, 'admin');
    assert.equal(view.via, 'session');
    assert.match(view.csrf_token ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!res.text.includes(ADMIN_TOKEN), 'the answer does not repeat the token');
  });

  test('over TLS the cookie is Secure too', async () => {
    const res = await f.app.request('https://skiff.example/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('set-cookie') ?? '', /; Secure/);
  });

  test('a wrong token, no token, or garbage is refused, and no cookie is set', async () => {
    for (const body of [
      JSON.stringify({ token: 'wrong' }),
      '{}',
      'not json',
      JSON.stringify({ token: ADMIN_TOKEN, x: 1 }),
    ]) {
      const res = await f.raw('/api/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.ok(res.status === 401 || res.status === 400, `${body}: ${res.status}`);
      assert.equal(res.headers.get('set-cookie'), null);
    }
  });

  test('a body over 4 KiB is refused before it is read whole', async () => {
    const res = await f.raw('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'x'.repeat(10_000) }),
    });
    assert.equal(res.status, 413);
  });

  test('a page of another origin cannot sign in', async () => {
    const res = await f.raw('http://localhost/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    assert.equal(res.status, 403);
    await signIn(f, ADMIN_TOKEN, { origin: 'http://localhost' });
  });

  test('failed sign-ins from a remote address pay into the failed-auth limiter', async () => {
    const attempt = (token: string) =>
      f.app.request(
        '/api/session',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) },
        { incoming: { socket: { remoteAddress: '192.0.2.50' } } },
      );
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await attempt(`wrong-${i}`)).status);
    assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
    assert.equal((await attempt(ADMIN_TOKEN)).status, 429, 'limited even with the right token');
    f.clock += 2000;
    assert.equal((await attempt(ADMIN_TOKEN)).status, 201);
  });
});

describe('cookie requests', () => {
  let f: Fixture;
  const tokens = new Map<string, string>();
  before(async () => {
    f = createFixture({ deps: { sessionKey: SESSION_KEY } });
    for (const role of ['viewer', 'operator'] as const)
      tokens.set(role, await makeToken(f, `t-${role}`, role));
  });
  after(() => f.close());

  test('GET /api/session says who, by cookie or by bearer', async () => {
    const { cookie, csrf } = await signIn(f, tokens.get('viewer') ?? '');
    const byCookie = await withCookie(f, cookie, 'GET', '/api/session');
    assert.equal(byCookie.status, 200);
    const view = sessionViewSchema.parse(byCookie.body);
    assert.deepEqual(
      [view.name, view.role, view.via, view.csrf_token],
      ['t-viewer', 'viewer', 'session', csrf],
    );
    const byBearer = sessionViewSchema.parse((await f.call('GET', '/api/session')).body);
    assert.deepEqual([byBearer.name, byBearer.via, byBearer.csrf_token], ['admin', 'bearer', null]);
    assert.equal((await f.raw('/api/session')).status, 401);
  });

  test('role checks apply to the cookie as to the bearer token', async () => {
    const viewer = await signIn(f, tokens.get('viewer') ?? '');
    const operator = await signIn(f, tokens.get('operator') ?? '');
    const csrfOf = (s: { csrf: string }) => ({ 'x-csrf-token': s.csrf });
    assert.equal((await withCookie(f, viewer.cookie, 'GET', '/api/services')).status, 200);
    const refused = await withCookie(f, viewer.cookie, 'POST', '/api/deploy', {
      body: SPEC,
      headers: csrfOf(viewer),
    });
    assert.equal(refused.status, 403);
    assert.match(
      String(field(refused.body, 'error')),
      /has role viewer; POST \/api\/deploy needs role operator/,
    );
    const deployed = await withCookie(f, operator.cookie, 'POST', '/api/deploy', {
      body: SPEC,
      headers: csrfOf(operator),
    });
    assert.equal(deployed.status, 201, deployed.text);
    const drain = await withCookie(f, operator.cookie, 'POST', '/api/nodes/x/drain', {
      headers: csrfOf(operator),
    });
    assert.equal(drain.status, 403);
    assert.equal((await withCookie(f, operator.cookie, 'GET', '/api/tokens')).status, 403);
  });

  test('a write with the cookie needs the session’s CSRF token; a bearer write does not', async () => {
    const operator = await signIn(f, tokens.get('operator') ?? '');
    const other = await signIn(f, tokens.get('operator') ?? '');
    const scale = (headers: Record<string, string>) =>
      withCookie(f, operator.cookie, 'POST', '/api/services/web/scale', { body: { replicas: 2 }, headers });
    const missing = await scale({});
    assert.equal(missing.status, 403);
    assert.match(String(field(missing.body, 'error')), /X-CSRF-Token/);
    assert.equal((await scale({ 'x-csrf-token': 'guess' })).status, 403);
    assert.equal(
      (await scale({ 'x-csrf-token': other.csrf })).status,
      403,
      'another session’s token is not this one’s',
    );
    assert.equal(f.store.getService('web')?.spec.replicas, 1, 'refused writes changed nothing');
    assert.equal((await scale({ 'x-csrf-token': operator.csrf })).status, 200);
    assert.equal(f.store.getService('web')?.spec.replicas, 2);
    const bearer = await f.call(
      'POST',
      '/api/services/web/scale',
      { replicas: 1 },
      {
        authorization: `Bearer ${tokens.get('operator')}`,
      },
    );
    assert.equal(bearer.status, 200);
  });

  test('changes made through a session are events naming its token', async () => {
    const operator = await signIn(f, tokens.get('operator') ?? '');
    await withCookie(f, operator.cookie, 'POST', '/api/services/web/scale', {
      body: { replicas: 3 },
      headers: { 'x-csrf-token': operator.csrf },
    });
    const messages = f.store.listEvents({ limit: 100 }).map((e) => e.message);
    assert.ok(
      messages.includes('Scaled web from 1 to 3 replica(s) (by token t-operator)'),
      JSON.stringify(messages),
    );
    assert.ok(messages.some((m) => m.startsWith('Dashboard session started with token t-operator')));
  });

  test('a forged or tampered cookie is no session', async () => {
    const { cookie } = await signIn(f, tokens.get('viewer') ?? '');
    const value = cookie.slice(SESSION_COOKIE.length + 1);
    const [body = '', signature = ''] = value.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...payload, name: 'admin' })).toString('base64url');
    for (const bad of [`${forged}.${signature}`, `${body}.${signature.slice(0, -2)}xx`, body, 'garbage'])
      assert.equal(
        (await withCookie(f, `${SESSION_COOKIE}=${bad}`, 'GET', '/api/services')).status,
        401,
        bad,
      );
  });
});

describe('a session ends', () => {
  let f: Fixture;
  before(() => {
    f = createFixture({ deps: { sessionKey: SESSION_KEY } });
  });
  after(() => f.close());

  test('at sign-out, for every server; the cookie is cleared', async () => {
    const { cookie } = await signIn(f, ADMIN_TOKEN);
    assert.equal((await withCookie(f, cookie, 'GET', '/api/services')).status, 200);
    const out = await withCookie(f, cookie, 'DELETE', '/api/session');
    assert.equal(out.status, 200);
    assert.deepEqual(out.body, { signed_out: true });
    assert.equal(f.store.listEvents({ limit: 1 })[0]?.message, 'Dashboard session of token admin signed out');
    assert.match(out.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=;.*Max-Age=0`));
    assert.equal((await withCookie(f, cookie, 'GET', '/api/services')).status, 401, 'a kept copy is refused');
    // Another server of the cluster (the same store, the same key) refuses it too.
    const twin = createApp({
      store: f.store,
      cluster: f.cluster,
      controller: f.controller,
      events: f.events,
      logs: f.logs,
      adminToken: ADMIN_TOKEN,
      addressPool: DEFAULT_POOL,
      now: () => f.clock,
      sessionKey: SESSION_KEY,
    });
    const again = await signIn(f, ADMIN_TOKEN);
    const onTwin = (c: string) => twin.request('/api/services', { headers: { cookie: c } });
    assert.equal((await onTwin(again.cookie)).status, 200, 'the twin accepts a live session');
    assert.equal((await onTwin(cookie)).status, 401, 'and refuses the signed-out one');
  });

  test('when its token is removed, or expires, or is made again under the same name', async () => {
    const secret = await makeToken(f, 'ci', 'operator', { expires_in: '2h' });
    const { cookie } = await signIn(f, secret);
    assert.equal((await withCookie(f, cookie, 'GET', '/api/services')).status, 200);
    f.clock += 2 * 3_600_000;
    assert.equal((await withCookie(f, cookie, 'GET', '/api/services')).status, 401, 'the token expired');
    f.clock -= 2 * 3_600_000;
    assert.equal((await withCookie(f, cookie, 'GET', '/api/services')).status, 200);
    assert.equal((await f.call('DELETE', '/api/tokens/ci')).status, 200);
    assert.equal((await withCookie(f, cookie, 'GET', '/api/services')).status, 401, 'the token was removed');
    await makeToken(f, 'ci', 'admin');
    assert.equal(
      (await withCookie(f, cookie, 'GET', '/api/services')).status,
      401,
      'a new token of that name',
    );
  });

  test('after its lifetime (12 h) even if the token lives on', async () => {
    const { cookie } = await signIn(f, ADMIN_TOKEN);
    f.clock += SESSION_LIFETIME_MS;
    assert.equal((await withCookie(f, cookie, 'GET', '/api/services')).status, 401);
    f.clock -= SESSION_LIFETIME_MS;
  });
});

describe('the cluster key', () => {
  test('a server with the same key accepts the cookie; one with another key does not', async () => {
    const a = createFixture({ deps: { sessionKey: SESSION_KEY } });
    const b = createFixture({ deps: { sessionKey: deriveSessionKey(CLUSTER_KEY) } });
    const c = createFixture({ deps: { sessionKey: deriveSessionKey(randomBytes(32)) } });
    try {
      const { cookie } = await signIn(a, ADMIN_TOKEN);
      assert.equal((await withCookie(b, cookie, 'GET', '/api/services')).status, 200);
      assert.equal((await withCookie(c, cookie, 'GET', '/api/services')).status, 401);
    } finally {
      for (const f of [a, b, c]) f.close();
    }
  });
});

describe('stream routes', () => {
  let f: Fixture;
  before(() => {
    f = createFixture({ deps: { sessionKey: SESSION_KEY, allowedOrigins: ['https://ops.example'] } });
  });
  after(() => f.close());

  test('the stream checks Origin before anything is upgraded; a plain GET is told to upgrade', async () => {
    const { cookie } = await signIn(f, ADMIN_TOKEN);
    const open = (origin?: string) =>
      withCookie(f, cookie, 'GET', 'http://localhost:8080/api/stream', {
        headers: { upgrade: 'websocket', ...(origin ? { origin } : {}) },
      });
    assert.equal((await open('https://evil.example')).status, 403);
    assert.equal((await open('null')).status, 403);
    assert.equal((await open('http://localhost:9999')).status, 403, 'another port is another origin');
    // Allowed origins pass the check; without the server's upgrade handler (app.request) it is 426.
    assert.equal((await open('http://localhost:8080')).status, 426);
    assert.equal((await open('https://ops.example')).status, 426);
    assert.equal((await f.raw('/api/stream', { headers: { upgrade: 'websocket' } })).status, 401);
  });

  test('the snapshot is the polling fallback, for any role, with an ETag that makes an unchanged poll a 304', async () => {
    const secret = await makeToken(f, 'watcher', 'viewer');
    const auth = { authorization: `Bearer ${secret}` };
    const first = await f.call('GET', '/api/stream/snapshot', undefined, auth);
    assert.equal(first.status, 200);
    const snapshot = snapshotMessageSchema.parse(first.body);
    assert.deepEqual(snapshot.principal, { name: 'watcher', role: 'viewer' });
    const etag = first.headers.get('etag') ?? '';
    f.clock += 1000;
    assert.equal(
      (await f.call('GET', '/api/stream/snapshot', undefined, { ...auth, 'if-none-match': etag })).status,
      304,
    );
    assert.equal((await f.call('POST', '/api/deploy', SPEC)).status, 201);
    f.clock += 1000;
    const changed = await f.call('GET', '/api/stream/snapshot', undefined, {
      ...auth,
      'if-none-match': etag,
    });
    assert.equal(changed.status, 200);
    const next = snapshotMessageSchema.parse(changed.body);
    assert.ok(next.seq > snapshot.seq);
    assert.deepEqual(
      next.services.map((s) => s.name),
      ['web'],
    );
    assert.equal(next.tasks.length, 1);
    assert.equal(next.tasks[0]?.service, 'web');
    assert.ok(next.events.some((e) => e.message.startsWith('Service web created')));
  });
});
