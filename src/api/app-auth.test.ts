/**
 * The API's surface: bearer-token auth on every /api route, the open health check, and an
 * OpenAPI document that matches the routes the app really serves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { errorBodySchema } from '../model/views.ts';
import { recordVolumes } from '../server/volume-registry.ts';
import { PUBLIC_API_ROUTES } from './session-routes.ts';
import type { Fixture } from './test-fixture.ts';
import { ADMIN_TOKEN, appRoutes, createFixture } from './test-fixture.ts';

/** The routes the spec promises; the app may not lose any of them. */
const EXPECTED_API_ROUTES = [
  'GET /api/openapi.json',
  'GET /api/version',
  'POST /api/deploy',
  'GET /api/services',
  'GET /api/services/:name',
  'POST /api/services/:name/scale',
  'DELETE /api/services/:name',
  'GET /api/services/:name/logs',
  'GET /api/events',
  'GET /api/nodes',
  'GET /api/nodes/:id',
  'POST /api/nodes/:id/cordon',
  'POST /api/nodes/:id/uncordon',
  'POST /api/nodes/:id/drain',
  'PUT /api/nodes/:id/labels',
  'DELETE /api/nodes/:id',
  'GET /api/services/:name/revisions',
  'POST /api/services/:name/rollback',
];

const SPEC = { name: 'api-server', image: 'skiff-demo:v1', replicas: 1 };
/** A stack named as the routes are called (`api-server`), with one service. */
const STACK = JSON.stringify({ services: [{ name: 'api-server-web', image: 'skiff-demo:v1' }] });

/** The same stack as a Compose file (`POST /api/stacks/{name}/compose`). */
const COMPOSE = JSON.stringify({ content: 'services:\n  web:\n    image: skiff-demo:v1\n' });

describe('auth', () => {
  let f: Fixture;
  let apiRoutes: [string, string][];
  before(() => {
    f = createFixture();
    apiRoutes = appRoutes(f.app).filter(([, path]) => path.startsWith('/api/'));
  });
  after(() => f.close());

  test('the app serves every route the spec promises', () => {
    const served = apiRoutes.map(([method, path]) => `${method} ${path}`);
    for (const route of EXPECTED_API_ROUTES) assert.ok(served.includes(route), `missing route ${route}`);
  });

  const concrete = (path: string) => path.replaceAll(':name', 'api-server').replaceAll(':id', 'node-1');
  const bodyFor = (method: string, path: string) => {
    if (method === 'GET' || method === 'DELETE') return undefined;
    if (path === '/api/secrets' || path === '/api/configs') return '{"name":"api-server","data":"aGk="}';
    if (path === '/api/tokens') return '{"name":"ci","role":"viewer"}';
    if (path === '/api/registries')
      return '{"registry":"registry.test:5000","username":"ci","password":"pw"}';
    if (path.endsWith('/compose')) return COMPOSE;
    if (path.startsWith('/api/stacks/')) return STACK;
    if (path === '/api/session') return JSON.stringify({ token: ADMIN_TOKEN });
    if (path === '/api/policy') return '{"mode":"baseline"}';
    if (path.startsWith('/api/policy/')) return '{"service":"api-server","exception":"cap:NET_ADMIN"}';
    if (method === 'PUT') return '{"labels":{"zone":"a"}}';
    if (path.endsWith('/rollback') || path === '/api/images/prune') return '{}';
    if (path.startsWith('/api/volumes/')) return '{"to":"node-1"}';
    if (method !== 'POST' || path.startsWith('/api/nodes/')) return undefined;
    return path.endsWith('/scale') ? '{"replicas":2}' : JSON.stringify(SPEC);
  };

  test('every /api route without a token is 401 with a JSON error and WWW-Authenticate', async () => {
    for (const [method, path] of apiRoutes) {
      // Signing in and out are how a caller without a token gets one, or stops having one.
      if (PUBLIC_API_ROUTES.includes(`${method} ${path}`)) continue;
      const res = await f.raw(concrete(path), {
        method,
        headers: { 'content-type': 'application/json' },
        body: bodyFor(method, path),
      });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(typeof errorBodySchema.parse(res.body).error, 'string');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/, `${method} ${path}`);
    }
  });

  test('an unknown /api route without a token is 401 too (nothing is revealed)', async () => {
    const res = await f.raw('/api/no-such-thing');
    assert.equal(res.status, 401);
    assert.ok(res.headers.get('www-authenticate'));
  });

  test('a wrong token is 401 on every /api route', async () => {
    const wrong = [
      'Bearer wrong',
      `Bearer ${ADMIN_TOKEN}x`,
      `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
      `Basic ${ADMIN_TOKEN}`,
      ADMIN_TOKEN,
      'Bearer',
      '',
    ];
    for (const [method, path] of apiRoutes) {
      if (PUBLIC_API_ROUTES.includes(`${method} ${path}`)) continue;
      for (const authorization of wrong) {
        const res = await f.raw(concrete(path), {
          method,
          headers: { authorization, 'content-type': 'application/json' },
          body: bodyFor(method, path),
        });
        assert.equal(res.status, 401, `${method} ${path} with ${JSON.stringify(authorization)}`);
        assert.ok(res.headers.get('www-authenticate'));
        errorBodySchema.parse(res.body);
      }
    }
  });

  test('a token in the query string is not a token', async () => {
    const res = await f.raw(`/api/services?token=${ADMIN_TOKEN}`);
    assert.equal(res.status, 401);
  });

  test('unauthorized writes change nothing', async () => {
    const listed = await f.call('GET', '/api/services');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, []);
    assert.equal(f.store.listEvents({ limit: 100 }).length, 0);
  });

  test('GET /healthz needs no token', async () => {
    const res = await f.raw('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok' });
    const wrong = await f.raw('/healthz', { headers: { authorization: 'Bearer wrong' } });
    assert.equal(wrong.status, 200);
  });

  test('the right token works on every route', async () => {
    f.connectNode('node-1');
    const deployed = await f.call('POST', '/api/deploy', SPEC);
    assert.equal(deployed.status, 201);
    // A second revision, so there is one to roll back to.
    assert.equal((await f.call('POST', '/api/deploy', { ...SPEC, image: 'skiff-demo:v2' })).status, 200);
    // A secret and a config by the name the routes are called with, so each answers 200.
    for (const kind of ['secrets', 'configs'])
      assert.equal((await f.call('POST', `/api/${kind}`, { name: 'api-server', data: 'aGk=' })).status, 201);
    // And a volume (an agent's report), moved to the node that has it.
    recordVolumes(f.store, 'node-1', [
      { name: 'api-server', service: 'old', slot: 0, created_at: null, used_by: [] },
    ]);
    for (const [method, path] of apiRoutes) {
      if (method === 'DELETE') continue;
      if (path === '/api/exec') {
        // Past the gate, a plain GET of the WebSocket route is told to upgrade.
        const exec = await f.call('GET', '/api/exec?target=nothing&cmd=true');
        assert.equal(exec.status, 404, exec.text);
        continue;
      }
      const res = await f.call(method, concrete(path), bodyFor(method, path));
      const created =
        method === 'POST' &&
        (path === '/api/tokens' || path === '/api/session' || path === '/api/registries');
      // The stream is a WebSocket: a plain GET is told so (426), a real upgrade is test/stream.test.ts's.
      const expected = path === '/api/stream' ? 426 : created ? 201 : 200;
      assert.equal(res.status, expected, `${method} ${path}: ${res.text}`);
    }
    const deleted = await f.call('DELETE', '/api/services/api-server');
    assert.equal(deleted.status, 200);
  });

  test('the token scheme is case-insensitive, as RFC 7235 says', async () => {
    const res = await f.raw('/api/services', { headers: { authorization: `bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 200);
  });
});

describe('OpenAPI document', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  const documentSchema = z.object({
    openapi: z.string(),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  });

  test('is served with a token, as OpenAPI 3.1.0', async () => {
    const res = await f.call('GET', '/api/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(documentSchema.parse(res.body).openapi, '3.1.0');
  });

  test('documents every route the app serves', async () => {
    const { paths } = documentSchema.parse((await f.call('GET', '/api/openapi.json')).body);
    const routes = appRoutes(f.app);
    assert.ok(routes.length >= EXPECTED_API_ROUTES.length);
    for (const [method, path] of routes) {
      // The document does not describe itself.
      if (path === '/api/openapi.json') continue;
      const documented = path.replaceAll(/:(\w+)/g, '{$1}');
      assert.ok(paths[documented]?.[method.toLowerCase()], `${method} ${documented} is not in the document`);
    }
  });

  test('documents no route the app does not serve', async () => {
    const { paths } = documentSchema.parse((await f.call('GET', '/api/openapi.json')).body);
    const served = new Set(appRoutes(f.app).map(([method, path]) => `${method} ${path}`));
    for (const [path, operations] of Object.entries(paths)) {
      for (const method of Object.keys(operations)) {
        const route = `${method.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ':$1')}`;
        assert.ok(served.has(route), `${route} is documented but not served`);
      }
    }
  });
});
