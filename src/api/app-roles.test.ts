/**
 * Roles on every route, as a table generated from the app's routes: each role gets through where
 * its role allows (anything but 401/403) and a 403 naming the role needed elsewhere. A route
 * missing from auth/route-permissions.ts fails here. Also: token lifecycle, expiry, events that
 * name the token, and failed authentications slowed down per address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Role } from '../auth/roles.ts';
import { ROLE_NEEDED, roleAllows } from '../auth/roles.ts';
import { permissionFor, ROUTE_PERMISSIONS } from '../auth/route-permissions.ts';
import { createdTokenViewSchema, tokenViewSchema } from '../model/access-views.ts';
import type { Fixture } from './test-fixture.ts';
import { appRoutes, createFixture, field } from './test-fixture.ts';

const SPEC = { name: 'web', image: 'skiff-demo:v1', replicas: 1 };
const ROLES: Role[] = ['viewer', 'operator', 'admin'];
/** Routes of security/security-api-routes.ts: served only with the cluster PKI, which the fixture has not. */
const SERVED_WITH_PKI = ['GET /api/join-token', 'POST /api/join-token/rotate', 'POST /api/ca/rotate'];

const concrete = (path: string) => path.replaceAll(':name', 'web').replaceAll(':id', 'node-x');
const bodyFor = (method: string, path: string): unknown => {
  if (method === 'GET' || method === 'DELETE') return undefined;
  if (path === '/api/deploy') return SPEC;
  if (path.endsWith('/scale')) return { replicas: 1 };
  if (path.endsWith('/rollback')) return {};
  if (path === '/api/tokens') return { name: 'made-by-table', role: 'viewer' };
  if (path === '/api/policy') return { mode: 'baseline' };
  if (path.startsWith('/api/policy/')) return { service: 'web', exception: 'cap:NET_ADMIN' };
  if (path.endsWith('/labels')) return { labels: { zone: 'a' } };
  return undefined;
};

async function createToken(f: Fixture, name: string, role: Role, extra: object = {}): Promise<string> {
  const res = await f.call('POST', '/api/tokens', { name, role, ...extra });
  assert.equal(res.status, 201, res.text);
  return createdTokenViewSchema.parse(res.body).token;
}

describe('route × role', () => {
  let f: Fixture;
  const secrets = new Map<Role, string>();
  before(async () => {
    f = createFixture();
    for (const role of ROLES) secrets.set(role, await createToken(f, `t-${role}`, role));
    assert.equal((await f.call('POST', '/api/deploy', SPEC)).status, 201);
  });
  after(() => f.close());

  test('every API route has a permission, and every permission names a served route', () => {
    const served = appRoutes(f.app)
      .filter(([, path]) => path.startsWith('/api/') || path === '/metrics')
      .map(([method, path]) => `${method} ${path}`);
    for (const route of served)
      assert.ok(ROUTE_PERMISSIONS[route], `${route} has no entry in ROUTE_PERMISSIONS`);
    for (const route of Object.keys(ROUTE_PERMISSIONS))
      assert.ok(served.includes(route) || SERVED_WITH_PKI.includes(route), `${route} is not served`);
  });

  for (const role of ROLES) {
    test(`${role}: allowed routes pass the gate, the others are 403 naming the role needed`, async () => {
      for (const [method, path] of appRoutes(f.app).filter(
        ([, p]) => p.startsWith('/api/') || p === '/metrics',
      )) {
        const permission = permissionFor(method, path);
        const res = await f.call(method, concrete(path), bodyFor(method, path), {
          authorization: `Bearer ${secrets.get(role)}`,
        });
        const route = `${role} ${method} ${path}`;
        if (roleAllows(role, permission)) {
          assert.ok(res.status !== 401 && res.status !== 403, `${route}: ${res.status} ${res.text}`);
        } else {
          assert.equal(res.status, 403, `${route}: ${res.text}`);
          assert.match(
            String(field(res.body, 'error')),
            new RegExp(`has role ${role}; .* needs role ${ROLE_NEEDED[permission]}`),
          );
        }
      }
    });
  }

  test('the issue’s cases: a viewer gets 403 on deploy and 200 on ps; an operator deploys but cannot drain', async () => {
    const as = (role: Role) => ({ authorization: `Bearer ${secrets.get(role)}` });
    assert.equal((await f.call('POST', '/api/deploy', SPEC, as('viewer'))).status, 403);
    assert.equal((await f.call('GET', '/api/services', undefined, as('viewer'))).status, 200);
    assert.equal((await f.call('GET', '/api/events', undefined, as('viewer'))).status, 200);
    // The table above removed it as admin: an operator creates it again.
    assert.equal((await f.call('POST', '/api/deploy', { ...SPEC, replicas: 2 }, as('operator'))).status, 201);
    assert.equal((await f.call('POST', '/api/nodes/x/drain', undefined, as('operator'))).status, 403);
    assert.equal((await f.call('GET', '/api/tokens', undefined, as('operator'))).status, 403);
    assert.equal((await f.call('PUT', '/api/policy', { mode: 'privileged' }, as('operator'))).status, 403);
  });
});

describe('API tokens', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('created once with its secret, listed without it, stored only as a hash', async () => {
    const secret = await createToken(f, 'grafana', 'viewer', { expires_in: '30d' });
    assert.match(secret, /^skiff_tok_[A-Za-z0-9_-]{32}$/);
    const list = await f.call('GET', '/api/tokens');
    const [view] = tokenViewSchema.array().parse(list.body);
    assert.equal(view?.name, 'grafana');
    assert.equal(view?.role, 'viewer');
    assert.equal(view?.expires_at, new Date(f.clock + 30 * 86_400_000).toISOString());
    assert.equal(view?.last_used_at, null);
    assert.ok(!list.text.includes(secret));
    assert.ok(!(f.store.getMeta('api_tokens') ?? '').includes(secret), 'the store keeps no secret');
    assert.equal((await f.call('POST', '/api/tokens', { name: 'grafana', role: 'admin' })).status, 409);
    assert.equal((await f.call('POST', '/api/tokens', { name: 'admin', role: 'admin' })).status, 409);
    assert.equal((await f.call('POST', '/api/tokens', { name: 'x', role: 'root' })).status, 400);
    assert.equal(
      (await f.call('POST', '/api/tokens', { name: 'x', role: 'viewer', expires_in: 'soon' })).status,
      400,
    );
  });

  test('last use is recorded; an expired or removed token is 401', async () => {
    const secret = await createToken(f, 'short', 'operator', { expires_in: '1h' });
    const auth = { authorization: `Bearer ${secret}` };
    assert.equal((await f.call('GET', '/api/services', undefined, auth)).status, 200);
    const used = tokenViewSchema
      .array()
      .parse((await f.call('GET', '/api/tokens')).body)
      .find((t) => t.name === 'short');
    assert.equal(used?.last_used_at, new Date(f.clock).toISOString());
    f.clock += 3_600_000;
    assert.equal((await f.call('GET', '/api/services', undefined, auth)).status, 401);
    f.clock -= 3_600_000;
    assert.equal((await f.call('GET', '/api/services', undefined, auth)).status, 200);
    assert.equal((await f.call('DELETE', '/api/tokens/short')).status, 200);
    assert.equal((await f.call('GET', '/api/services', undefined, auth)).status, 401);
    assert.equal((await f.call('DELETE', '/api/tokens/short')).status, 404);
  });

  test('changes made through the API are events naming the token', async () => {
    const secret = await createToken(f, 'ci', 'operator');
    const auth = { authorization: `Bearer ${secret}` };
    await f.call('POST', '/api/deploy', SPEC, auth);
    await f.call('POST', '/api/services/web/scale', { replicas: 2 }, auth);
    await f.call('DELETE', '/api/services/web', undefined, auth);
    await f.call('POST', '/api/policy/allow', { service: 'web', exception: 'privileged' });
    const messages = f.store.listEvents({ limit: 100 }).map((e) => `${e.type}: ${e.message}`);
    for (const expected of [
      'token: Token ci created with role operator (by token admin)',
      'service: Service web created: 1 replica(s) of skiff-demo:v1 (by token ci)',
      'scale: Scaled web from 1 to 2 replica(s) (by token ci)',
      'service: Service web removed (by token ci)',
      'policy: Admission policy now allows privileged for service web (by token admin)',
    ])
      assert.ok(messages.includes(expected), `${expected} not in ${JSON.stringify(messages)}`);
    // The controller's own events are not the token's.
    assert.ok(messages.filter((m) => m.startsWith('schedule')).every((m) => !m.includes('(by token')));
  });
});

describe('failed authentications', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());
  const from = (address: string, token: string) =>
    f.app.request(
      '/api/services',
      { headers: { authorization: `Bearer ${token}` } },
      {
        incoming: { socket: { remoteAddress: address } },
      },
    );

  test('a remote address is slowed down after a burst; others, loopback and time forgive', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await from('192.0.2.7', `wrong-${i}`)).status);
    assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429]);
    const limited = await from('192.0.2.7', 'test-admin-token-0123456789');
    assert.equal(limited.status, 429, 'a limited address is not let in even with the right token');
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal((await from('192.0.2.8', 'wrong')).status, 401, 'another address is not affected');
    for (let i = 0; i < 20; i++) assert.equal((await from('127.0.0.1', 'wrong')).status, 401);
    assert.equal((await from('::ffff:127.0.0.1', 'wrong')).status, 401);
    f.clock += 2000;
    assert.equal((await from('192.0.2.7', 'test-admin-token-0123456789')).status, 200);
  });
});
