/**
 * Images through the API, with fake agent links: `GET /api/images` from the agents' reports,
 * `POST /api/images/prune` out to the agents and back, the roles they need, and the scheduler
 * preferring the node that has a replica's image (saying so in the schedule event).
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { z } from 'zod';
import { imagePruneViewSchema, imageViewSchema } from '../model/image-view.ts';
import { AGENT_FEATURES } from '../protocol/features.ts';
import type { ReportedImage } from '../protocol/images-message.ts';
import type { Fixture } from './test-fixture.ts';
import { createFixture } from './test-fixture.ts';

let f: Fixture;
beforeEach(() => {
  f = createFixture();
});
afterEach(() => f.close());

const MB = 1024 * 1024;

function reported(id: string, tags: string[], overrides: Partial<ReportedImage> = {}): ReportedImage {
  return {
    id,
    repo_tags: tags,
    repo_digests: [],
    size_bytes: 700 * MB,
    pulled_by_skiff: true,
    in_use_by: [],
    in_use_count: 0,
    last_used_at: null,
    ...overrides,
  };
}

test("GET /api/images lists every node's images, a row per tag, from full reports and changes", async () => {
  f.connectNode('node-1');
  f.connectNode('node-2');
  f.images.apply(
    'node-2',
    {
      type: 'images',
      full: true,
      images: [
        reported('sha256:aaa', ['app:v1', 'app:latest'], { in_use_by: ['web-0'], in_use_count: 1 }),
        reported('sha256:bbb', [], {
          repo_digests: [`app@sha256:${'d'.repeat(64)}`],
          pulled_by_skiff: false,
          last_used_at: Date.parse('2025-06-01T11:00:00Z'),
        }),
      ],
      removed: [],
    },
    f.clock,
  );
  f.images.apply(
    'node-1',
    { type: 'images', full: true, images: [reported('sha256:ccc', ['db:5'])], removed: [] },
    f.clock,
  );
  const all = await f.call('GET', '/api/images');
  assert.equal(all.status, 200);
  const rows = z.array(imageViewSchema).parse(all.body);
  assert.deepEqual(
    rows.map((r) => [r.node, r.repository, r.tag, r.id]),
    [
      ['node-1', 'db', '5', 'sha256:ccc'],
      ['node-2', 'app', 'latest', 'sha256:aaa'],
      ['node-2', 'app', 'v1', 'sha256:aaa'],
      ['node-2', 'app', null, 'sha256:bbb'],
    ],
  );
  assert.deepEqual(rows[3], {
    node: 'node-2',
    repository: 'app',
    tag: null,
    id: 'sha256:bbb',
    digest: `sha256:${'d'.repeat(64)}`,
    size_bytes: 700 * MB,
    in_use_by: [],
    in_use_count: 0,
    pulled_by_skiff: false,
    last_used_at: '2025-06-01T11:00:00.000Z',
  });
  // A change: one image gone from node-2.
  f.images.apply('node-2', { type: 'images', full: false, images: [], removed: ['sha256:aaa'] }, f.clock);
  const one = z.array(imageViewSchema).parse((await f.call('GET', '/api/images?node=node-2')).body);
  assert.deepEqual(
    one.map((r) => r.id),
    ['sha256:bbb'],
  );
  assert.equal((await f.call('GET', '/api/images?node=nope')).status, 404);
});

test('POST /api/images/prune asks the agents and says what each removed, or why not', async () => {
  const one = f.connectNode('node-1', { features: AGENT_FEATURES });
  f.connectNode('node-2', { features: AGENT_FEATURES.filter((x) => x !== 'images') });
  const pending = f.call('POST', '/api/images/prune', {});
  // The request went out to node-1 only; its agent answers.
  const deadline = Date.now() + 2000;
  let request: { request_id: string } | undefined;
  while (!request && Date.now() < deadline) {
    request = one.sent.find((m) => m.type === 'images.prune') as { request_id: string } | undefined;
    if (!request) await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(request, 'node-1 was sent images.prune');
  f.imagePrunes.answered('node-2', request.request_id, [], 'not yours to answer');
  f.imagePrunes.answered(
    'node-1',
    request.request_id,
    [{ id: 'sha256:aaa', references: ['app:v1'], size_bytes: 5_000_000 }],
    null,
  );
  const response = await pending;
  assert.equal(response.status, 200);
  const view = imagePruneViewSchema.parse(response.body);
  assert.deepEqual(view, {
    nodes: [
      {
        node: 'node-1',
        removed: [{ id: 'sha256:aaa', references: ['app:v1'], size_bytes: 5_000_000 }],
        reclaimed_bytes: 5_000_000,
        error: null,
      },
      {
        node: 'node-2',
        removed: [],
        reclaimed_bytes: 0,
        error: 'agent lacks feature images (upgrade its agent)',
      },
    ],
    reclaimed_bytes: 5_000_000,
  });
  const events = (await f.call('GET', '/api/events')).body as { message: string }[];
  assert.ok(
    events.some((e) => e.message.startsWith('Image prune: 1 image removed, 5.0 MB reclaimed')),
    JSON.stringify(events),
  );
  // One node by name; an unknown one is a 404, a bad body a 400.
  assert.equal((await f.call('POST', '/api/images/prune', { node: 'nope' })).status, 404);
  assert.equal((await f.call('POST', '/api/images/prune', { nodes: 'x' })).status, 400);
});

test('a prune the agent never answers ends with the timeout, saying so', async () => {
  f.connectNode('node-1', { features: AGENT_FEATURES });
  const response = await f.call('POST', '/api/images/prune', { node: 'node-1' });
  assert.equal(response.status, 200);
  assert.equal(imagePruneViewSchema.parse(response.body).nodes[0]?.error, 'no answer within 1 s');
});

test('the scheduler prefers the node that has the image, and the schedule event says why', async () => {
  f.connectNode('node-1');
  f.connectNode('node-2');
  f.images.apply(
    'node-2',
    { type: 'images', full: true, images: [reported('sha256:aaa', ['app:v1'])], removed: [] },
    f.clock,
  );
  await f.call('POST', '/api/deploy', { name: 'web', image: 'app:v1', replicas: 1 });
  const events = (await f.call('GET', '/api/events')).body as { message: string }[];
  assert.ok(
    events.some((e) => e.message === 'Scheduled web-0 on node-2 (image app:v1 is already on node-2)'),
    JSON.stringify(events.map((e) => e.message)),
  );
  // Without the image anywhere, the first node by id wins, as before.
  await f.call('POST', '/api/deploy', { name: 'other', image: 'other:v1', replicas: 1 });
  const again = (await f.call('GET', '/api/events')).body as { message: string }[];
  assert.ok(
    again.some((e) => e.message === 'Scheduled other-0 on node-1'),
    JSON.stringify(again.map((e) => e.message)),
  );
});
