/**
 * Garbage in, clear 4xx out: every malformed body or parameter gets a JSON error naming what is
 * wrong, nothing is written, and the server keeps working. All tests share one app on purpose:
 * the last ones prove it survived everything before them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseAddressPool } from '../model/addressing.ts';
import { errorBodySchema, serviceViewSchema } from '../model/views.ts';
import type { ApiResponse, Fixture } from './test-fixture.ts';
import { AUTH, createFixture } from './test-fixture.ts';

const MiB = 1024 * 1024;
const GOOD = { name: 'api-server', image: 'skiff-demo:v1', replicas: 3 };

/** A 400 whose error and details both name `field` (a dotted path such as `ports.0.protocol`). */
function assertNamesField(res: ApiResponse, field: string): void {
  assert.equal(res.status, 400, res.text.slice(0, 300));
  const body = errorBodySchema.parse(res.body);
  assert.ok(body.details && body.details.length > 0, 'details should list the problems');
  // The error names the first problem; the others are only in details, said once.
  if (body.details.length === 1) {
    assert.ok(body.error.includes(field), `error ${JSON.stringify(body.error)} should name ${field}`);
  }
  assert.ok(
    body.details.some((detail) => detail.startsWith(`${field}:`) || detail.includes(`"${field}"`)),
    `details ${JSON.stringify(body.details)} should name ${field}`,
  );
}

function assertJsonError(res: ApiResponse, status: number, pattern?: RegExp): void {
  assert.equal(res.status, status, res.text.slice(0, 300));
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = errorBodySchema.parse(res.body);
  if (pattern) assert.match(body.error, pattern);
}

describe('validation', () => {
  let f: Fixture;
  let eventsBefore: number;
  const deploy = (body: unknown) => f.call('POST', '/api/deploy', body);

  before(async () => {
    f = createFixture();
    // One good service, so scale and logs have something to refuse garbage for.
    const res = await f.call('POST', '/api/deploy', {
      name: 'existing',
      image: 'skiff-demo:v1',
      replicas: 2,
    });
    assert.equal(res.status, 201);
    eventsBefore = f.store.listEvents({ limit: 10_000 }).length;
  });
  after(() => f.close());

  describe('deploy body', () => {
    test('missing name', async () => {
      assertNamesField(await deploy({ image: 'skiff-demo:v1' }), 'name');
    });

    test('bad names: underscore and capitals, 64 characters, empty', async () => {
      for (const name of ['Bad_Name', 'a'.repeat(64), '', '-leading', 'trailing-']) {
        assertNamesField(await deploy({ ...GOOD, name }), 'name');
      }
    });

    test('a 63-character name is fine (the boundary)', async () => {
      const res = await deploy({ ...GOOD, name: 'a'.repeat(63), replicas: 0 });
      assert.equal(res.status, 201, res.text);
      assert.equal((await f.call('DELETE', `/api/services/${'a'.repeat(63)}`)).status, 200);
      eventsBefore = f.store.listEvents({ limit: 10_000 }).length;
    });

    test('missing or empty image', async () => {
      assertNamesField(await deploy({ name: 'api-server' }), 'image');
      assertNamesField(await deploy({ ...GOOD, image: '' }), 'image');
      assertNamesField(await deploy({ ...GOOD, image: 'two words' }), 'image');
    });

    test('replicas -1, 1.5, "3", 1001', async () => {
      for (const replicas of [-1, 1.5, '3', 1001, null]) {
        assertNamesField(await deploy({ ...GOOD, replicas }), 'replicas');
      }
    });

    test('an unknown top-level field (typo `replica`) is refused, not ignored', async () => {
      const { replicas: _, ...rest } = GOOD;
      assertNamesField(await deploy({ ...rest, replica: 3 }), 'replica');
    });

    test('unknown nested fields are refused too', async () => {
      assertNamesField(await deploy({ ...GOOD, resources: { memory: 512 } }), 'memory');
      assertNamesField(
        await deploy({ ...GOOD, ports: [{ container_port: 80, hostport: 8080 }] }),
        'hostport',
      );
    });

    test('port 70000 and port 0', async () => {
      assertNamesField(
        await deploy({ ...GOOD, ports: [{ container_port: 70000 }] }),
        'ports.0.container_port',
      );
      assertNamesField(
        await deploy({ ...GOOD, ports: [{ container_port: 80, host_port: 0 }] }),
        'ports.0.host_port',
      );
    });

    test('protocol sctp', async () => {
      assertNamesField(
        await deploy({ ...GOOD, ports: [{ container_port: 80, protocol: 'sctp' }] }),
        'ports.0.protocol',
      );
    });

    test('memory_mb 2', async () => {
      assertNamesField(await deploy({ ...GOOD, resources: { memory_mb: 2 } }), 'resources.memory_mb');
    });

    test('env key 1BAD', async () => {
      assertNamesField(await deploy({ ...GOOD, env: { GOOD_KEY: 'x', '1BAD': 'y' } }), 'env.1BAD');
      assertNamesField(await deploy({ ...GOOD, env: { KEY: 42 } }), 'env.KEY');
    });

    test('http health check without endpoint or port', async () => {
      assertNamesField(await deploy({ ...GOOD, health_check: { type: 'http' } }), 'health_check.endpoint');
    });

    test('bad duration `interval: "10 parsecs"`', async () => {
      assertNamesField(
        await deploy({ ...GOOD, health_check: { type: 'tcp', port: 8080, interval: '10 parsecs' } }),
        'health_check.interval',
      );
      assertNamesField(await deploy({ ...GOOD, stop_grace_period: 'soon' }), 'stop_grace_period');
    });

    test('every problem is listed, not just the first', async () => {
      const res = await deploy({ name: 'Bad_Name', image: '', replicas: -1 });
      assertNamesField(res, 'name');
      assertNamesField(res, 'image');
      assertNamesField(res, 'replicas');
    });

    test('a body that is not JSON', async () => {
      assertJsonError(await deploy('{"name": "api-server", '), 400, /not valid JSON/);
      assertJsonError(await deploy("{name: 'api-server'}"), 400, /not valid JSON/);
    });

    test('an empty body', async () => {
      assertJsonError(await deploy(''), 400, /JSON object/);
      assertJsonError(await deploy('   \n'), 400, /JSON object/);
      assertJsonError(await f.raw('/api/deploy', { method: 'POST', headers: AUTH }), 400, /JSON object/);
    });

    test('JSON that is not an object: array, null, string, number', async () => {
      for (const body of ['[]', `[${JSON.stringify(GOOD)}]`, 'null', '"api-server"', '3']) {
        const res = await deploy(body);
        assertJsonError(res, 400, /invalid service spec/);
        assert.ok(errorBodySchema.parse(res.body).details?.length, `details for ${body}`);
      }
    });

    const huge = () => JSON.stringify({ ...GOOD, env: { PAD: 'x'.repeat(MiB) } });

    test('a body over 1 MiB is 413', async () => {
      assertJsonError(await deploy(huge()), 413, /too large/);
    });

    test('a body over 1 MiB is 413 when streamed without a Content-Length', async () => {
      const bytes = new TextEncoder().encode(huge());
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
          controller.close();
        },
      });
      const init: RequestInit & { duplex: 'half' } = {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/json' },
        body,
        duplex: 'half',
      };
      assertJsonError(await f.raw('/api/deploy', init), 413, /too large/);
    });
  });

  describe('scale body', () => {
    const scale = (name: string, body: unknown) => f.call('POST', `/api/services/${name}/scale`, body);

    test('replicas -1, 1.5, "3", missing', async () => {
      for (const body of [{ replicas: -1 }, { replicas: 1.5 }, { replicas: '3' }, {}]) {
        assertNamesField(await scale('existing', body), 'replicas');
      }
    });

    test('unknown fields and non-objects', async () => {
      assertNamesField(await scale('existing', { replicas: 2, image: 'other:v2' }), 'image');
      assertJsonError(await scale('existing', '[]'), 400);
      assertJsonError(await scale('existing', ''), 400);
      assertJsonError(await scale('existing', 'five'), 400, /not valid JSON/);
    });

    test('an unknown service is 404', async () => {
      assertJsonError(await scale('nope', { replicas: 2 }), 404, /service nope not found/);
    });
  });

  describe('query parameters and routes', () => {
    test('/api/events?since=yesterday is 400 naming since', async () => {
      assertJsonError(await f.call('GET', '/api/events?since=yesterday'), 400, /^since:/);
    });

    test('/api/events?since= with words around a number is 400, not a guess', async () => {
      // Date.parse's legacy fallback reads "yesterday 1" as 2001-01-01 and "last 2020" as 2020.
      assertJsonError(await f.call('GET', '/api/events?since=yesterday%201'), 400, /^since:/);
      assertJsonError(await f.call('GET', '/api/events?since=last%202020'), 400, /^since:/);
    });

    test('/api/events limit=abc, -1, 1.5, too many is 400 naming limit', async () => {
      for (const limit of ['abc', '-1', '1.5', '10001', '1e3']) {
        assertJsonError(await f.call('GET', `/api/events?limit=${limit}`), 400, /^limit:/);
      }
    });

    test('/api/events follow=maybe is 400 naming follow', async () => {
      assertJsonError(await f.call('GET', '/api/events?follow=maybe'), 400, /^follow:/);
    });

    test('logs of an unknown service are 404', async () => {
      assertJsonError(await f.call('GET', '/api/services/x/logs'), 404, /service x not found/);
    });

    test('logs with a bad tail, since or format are 400 naming it', async () => {
      assertJsonError(await f.call('GET', '/api/services/existing/logs?tail=all'), 400, /^tail:/);
      assertJsonError(await f.call('GET', '/api/services/existing/logs?since=never'), 400, /^since:/);
      assertJsonError(await f.call('GET', '/api/services/existing/logs?format=xml'), 400, /^format:/);
    });

    test('unknown service on GET and DELETE is 404', async () => {
      assertJsonError(await f.call('GET', '/api/services/nope'), 404, /service nope not found/);
      assertJsonError(await f.call('DELETE', '/api/services/nope'), 404, /service nope not found/);
      assertJsonError(await f.call('GET', '/api/services/%ZZ'), 404);
    });

    test('an unknown route is 404 JSON', async () => {
      assertJsonError(await f.call('GET', '/api/nope'), 404, /no route GET \/api\/nope/);
      assertJsonError(await f.call('PUT', '/api/deploy', GOOD), 404);
      // Other paths are the dashboard's client routes (static-assets.ts), but not the server's own.
      assertJsonError(await f.call('GET', '/agent/nope'), 404);
    });
  });

  describe('after all that garbage', () => {
    test('nothing was written and nothing crashed', async () => {
      const listed = await f.call('GET', '/api/services');
      assert.equal(listed.status, 200);
      const services = serviceViewSchema.array().parse(listed.body);
      assert.deepEqual(
        services.map((s) => [s.name, s.revision, s.replicas]),
        [['existing', 1, 2]],
      );
      assert.equal(
        f.store.listEvents({ limit: 10_000 }).length,
        eventsBefore,
        'no events from refused requests',
      );
      assert.deepEqual(f.logged, [], 'no internal errors');
    });

    test('a normal deploy still works', async () => {
      const res = await deploy(GOOD);
      assert.equal(res.status, 201, res.text);
      const view = serviceViewSchema.parse(res.body);
      assert.equal(view.name, 'api-server');
      assert.equal(view.containers.length, 3);
      assert.equal((await f.call('GET', '/healthz')).status, 200);
    });

    test('a body of exactly 1 MiB is accepted (the limit is inclusive)', async () => {
      const text = JSON.stringify({ ...GOOD, name: 'padded' });
      const res = await deploy(text + ' '.repeat(MiB - Buffer.byteLength(text)));
      assert.equal(res.status, 201, res.text);
    });
  });
});

test('a smaller address pool holds fewer networks: the 17th network of a /16 is refused', async () => {
  const f = createFixture({ addressPool: parseAddressPool('10.96.0.0/16') });
  try {
    for (let i = 0; i < 16; i++) {
      const res = await f.call('POST', '/api/deploy', {
        name: `s${i}`,
        image: 'x:1',
        networks: [`net-${i}`],
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const full = await f.call('POST', '/api/deploy', { name: 'late', image: 'x:1', networks: ['one-more'] });
    assert.equal(full.status, 409);
    assert.match(String((full.body as { error: string }).error), /all 16 network addresses are in use/);
  } finally {
    f.close();
  }
});

test('running out of network addresses is a 409 naming the cause, and the server carries on', async () => {
  const f = createFixture();
  try {
    for (let i = 0; i < 256; i++) f.store.allocate('network', `net-${i}`, 0, 255);
    const full = await f.call('POST', '/api/deploy', { name: 'late', image: 'x:1', networks: ['one-more'] });
    assert.equal(full.status, 409);
    assert.match(String((full.body as { error: string }).error), /all 256 network addresses are in use/);
    assert.equal((await f.call('GET', '/api/services/late')).status, 404, 'nothing was stored');
    const fine = await f.call('POST', '/api/deploy', { name: 'ok', image: 'x:1', networks: ['net-3'] });
    assert.equal(fine.status, 201);
  } finally {
    f.close();
  }
});
