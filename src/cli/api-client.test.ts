import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { serviceViewSchema } from '../model/views.ts';
import { ApiClient, servicePath } from './api-client.ts';
import type { Connection } from './connection.ts';
import { serviceView } from './service-view-fixture.ts';

const connection: Connection = {
  serverUrl: 'http://skiff:8080',
  serverUrls: ['http://skiff:8080'],
  context: undefined,
  token: 't0k',
  tokenFile: '/d/admin.token',
  caPem: undefined,
};

function answering(response: () => Response | Promise<Response>, seen: Request[] = []): typeof fetch {
  return async (input, init) => {
    seen.push(new Request(input, init));
    return response();
  };
}

const okSchema = z.object({ deleted: z.string() });

test('sends the token and JSON body, and returns the validated answer', async () => {
  const seen: Request[] = [];
  const client = new ApiClient(
    connection,
    answering(() => Response.json({ deleted: 'web' }), seen),
  );
  assert.deepEqual(await client.post('/api/x', { replicas: 2 }, okSchema), { deleted: 'web' });
  const [request] = seen;
  assert.equal(request?.url, 'http://skiff:8080/api/x');
  assert.equal(request?.headers.get('authorization'), 'Bearer t0k');
  assert.equal(request?.headers.get('content-type'), 'application/json');
  assert.deepEqual(await request?.json(), { replicas: 2 });
});

test('a non-2xx answer becomes an ApiError with the server error and details', async () => {
  const body = { error: 'invalid service spec', details: ['replicas: must be at most 1000'] };
  const client = new ApiClient(
    connection,
    answering(() => Response.json(body, { status: 400 })),
  );
  await assert.rejects(client.get('/api/x', okSchema), {
    name: 'ApiError',
    status: 400,
    message: 'invalid service spec',
    details: ['replicas: must be at most 1000'],
  });
  const proxy = new ApiClient(
    connection,
    answering(() => new Response('<html>', { status: 502, statusText: 'Bad Gateway' })),
  );
  await assert.rejects(proxy.get('/api/x', okSchema), { message: 'the server answered 502 Bad Gateway' });
});

test('a 401 without a token says where a token would come from', async () => {
  const client = new ApiClient(
    { ...connection, token: undefined },
    answering(() => Response.json({ error: 'unauthorized' }, { status: 401 })),
  );
  await assert.rejects(client.get('/api/x', okSchema), {
    message: 'unauthorized',
    details: ['no token was sent: pass --token, set SKIFF_TOKEN, or create /d/admin.token'],
  });
});

test('an unreachable server is a ConnectionError with the hint', async () => {
  const client = new ApiClient(connection, async () => {
    throw new TypeError('fetch failed');
  });
  await assert.rejects(client.get('/api/x', okSchema), {
    name: 'ConnectionError',
    message: 'cannot reach the Skiff server at http://skiff:8080 (is "skiff up" running?)',
  });
});

test('a 2xx body that does not match the schema is a ResponseShapeError', async () => {
  const client = new ApiClient(
    connection,
    answering(() => Response.json({ deleted: 7 })),
  );
  await assert.rejects(client.get('/api/x', okSchema), {
    name: 'ResponseShapeError',
    message: /GET \/api\/x at deleted/,
  });
  const notJson = new ApiClient(
    connection,
    answering(() => new Response('hello')),
  );
  await assert.rejects(notJson.get('/api/x', okSchema), { name: 'ResponseShapeError', message: /not JSON/ });
});

test('streams NDJSON lines, validated, and stops quietly when aborted', async () => {
  const encoder = new TextEncoder();
  const controller = new AbortController();
  const body = new ReadableStream<Uint8Array>({
    start(stream) {
      stream.enqueue(encoder.encode('{"deleted":"a"}\n{"del'));
      stream.enqueue(encoder.encode('eted":"b"}\n'));
      // Then nothing more, as a followed stream idles, until the abort errors it, as fetch does.
      controller.signal.addEventListener('abort', () => stream.error(controller.signal.reason));
    },
  });
  const client = new ApiClient(
    connection,
    answering(() => new Response(body)),
  );
  const seen: string[] = [];
  for await (const item of client.stream('/api/x', okSchema, controller.signal)) {
    seen.push(item.deleted);
    if (seen.length === 2) setImmediate(() => controller.abort());
  }
  assert.deepEqual(seen, ['a', 'b']);
});

test('service paths escape the name', () => {
  assert.equal(servicePath('web', '/scale'), '/api/services/web/scale');
  assert.equal(servicePath('../nodes'), '/api/services/..%2Fnodes');
});

test('answers from a newer server with fields this CLI does not know are read, not refused', async () => {
  const view = serviceView();
  const newer = {
    ...view,
    paused: true,
    ports: [{ container_port: 80, protocol: 'tcp', mode: 'ingress', app_protocol: 'tcp', weight: 3 }],
    update: { ...view.update, canary: 1 },
    rollout: {
      state: 'complete',
      from_revision: null,
      to_revision: 1,
      started_at: 'x',
      finished_at: null,
      message: null,
      step: 2,
    },
    containers: view.containers.map((c) => ({ ...c, cpu_percent: 3.5 })),
  };
  const client = new ApiClient(
    connection,
    answering(() => Response.json([newer])),
  );
  const [read] = await client.get('/api/services', serviceViewSchema.array());
  assert.equal(read?.name, view.name);
  assert.equal('paused' in (read ?? {}), false);
  const nodes = new ApiClient(
    connection,
    answering(() => Response.json({ deleted: 'web', at: 'now' })),
  );
  assert.deepEqual(await nodes.delete('/api/services/web', okSchema), { deleted: 'web' });
});

test('several servers: an unreachable one is skipped, the one that answered is tried first next time', async () => {
  const seen: string[] = [];
  const client = new ApiClient(
    { ...connection, serverUrl: 'http://a:1', serverUrls: ['http://a:1', 'http://b:2', 'http://c:3'] },
    async (input) => {
      const url = String(input);
      seen.push(url);
      if (url.startsWith('http://a:1'))
        throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return Response.json({ deleted: 'web' });
    },
  );
  assert.deepEqual(await client.delete('/api/services/web', okSchema), { deleted: 'web' });
  assert.deepEqual(await client.delete('/api/services/web', okSchema), { deleted: 'web' });
  assert.deepEqual(seen, [
    'http://a:1/api/services/web',
    'http://b:2/api/services/web',
    'http://b:2/api/services/web',
  ]);
  const none = new ApiClient({ ...connection, serverUrls: ['http://a:1', 'http://b:2'] }, async () => {
    throw new TypeError('fetch failed');
  });
  await assert.rejects(none.delete('/x', okSchema), /cannot reach any of http:\/\/a:1, http:\/\/b:2/);
});

test('several servers: one whose certificate does not verify stops there, the next is not tried', async () => {
  const seen: string[] = [];
  const client = new ApiClient(
    { ...connection, serverUrls: ['https://a:1', 'https://b:2'] },
    async (input) => {
      seen.push(String(input));
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
      });
    },
  );
  await assert.rejects(
    client.delete('/x', okSchema),
    /https:\/\/a:1 was not verified \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
  );
  assert.deepEqual(seen, ['https://a:1/x']);
});
