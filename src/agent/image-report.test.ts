import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineImage } from '../docker/image-engine.ts';
import { MAX_REPORTED_IMAGES } from '../protocol/images-message.ts';
import { imagesDelta, reportedImages } from './image-report.ts';

const image = (id: string, tags: string[], sizeBytes = 1000): EngineImage => ({
  id,
  repoTags: tags,
  repoDigests: [],
  sizeBytes,
  createdAt: 0,
});

test('an image says who uses it and whether Skiff pulled it', () => {
  const { images, truncated } = reportedImages({
    images: [image('sha256:a', ['app:v1']), image('sha256:b', ['local:dev'], 5000)],
    users: [
      { containerName: 'web-1', imageId: 'sha256:a' },
      { containerName: 'web-0', imageId: 'sha256:a' },
    ],
    pulled: new Map([
      ['sha256:a', { id: 'sha256:a', references: ['app:v1'], pulled_at: 1, last_used_at: 7 }],
    ]),
  });
  assert.equal(truncated, false);
  assert.deepEqual(images, [
    {
      id: 'sha256:a',
      repo_tags: ['app:v1'],
      repo_digests: [],
      size_bytes: 1000,
      pulled_by_skiff: true,
      in_use_by: ['web-0', 'web-1'],
      in_use_count: 2,
      last_used_at: 7,
    },
    {
      id: 'sha256:b',
      repo_tags: ['local:dev'],
      repo_digests: [],
      size_bytes: 5000,
      pulled_by_skiff: false,
      in_use_by: [],
      in_use_count: 0,
      last_used_at: null,
    },
  ]);
});

test("past the cap, Skiff's and used images are kept first, then the largest", () => {
  const many = Array.from({ length: MAX_REPORTED_IMAGES + 5 }, (_, i) => image(`sha256:${i}`, [`x:${i}`], i));
  const { images, truncated } = reportedImages({
    images: many,
    users: [{ containerName: 'c', imageId: 'sha256:0' }],
    pulled: new Map(),
  });
  assert.equal(truncated, true);
  assert.equal(images.length, MAX_REPORTED_IMAGES);
  assert.equal(images[0]?.id, 'sha256:0');
  assert.equal(images[1]?.id, `sha256:${MAX_REPORTED_IMAGES + 4}`);
});

test('only changes are sent: nothing when nothing changed', () => {
  const first = reportedImages({
    images: [image('sha256:a', ['a:1']), image('sha256:b', ['b:1'])],
    users: [],
    pulled: new Map(),
  });
  const initial = imagesDelta(new Map(), first.images);
  assert.equal(initial.changed.length, 2);
  assert.deepEqual(initial.removed, []);
  const same = imagesDelta(initial.sent, first.images);
  assert.deepEqual([same.changed, same.removed], [[], []]);
  const next = reportedImages({
    images: [image('sha256:a', ['a:1']), image('sha256:c', ['c:1'])],
    users: [{ containerName: 'x', imageId: 'sha256:a' }],
    pulled: new Map(),
  });
  const delta = imagesDelta(same.sent, next.images);
  assert.deepEqual(
    delta.changed.map((i) => i.id),
    ['sha256:a', 'sha256:c'],
  );
  assert.deepEqual(delta.removed, ['sha256:b']);
});
