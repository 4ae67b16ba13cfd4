import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReportedImage } from '../protocol/images-message.ts';
import { ImageInventory } from './image-inventory.ts';

const image = (id: string, tags: string[], size = 100): ReportedImage => ({
  id,
  repo_tags: tags,
  repo_digests: [],
  size_bytes: size,
  pulled_by_skiff: false,
  in_use_by: [],
  in_use_count: 0,
  last_used_at: null,
});

test("a node's presence map: names normalized, kept by identity until it changes", () => {
  const inventory = new ImageInventory();
  assert.equal(inventory.presence('n1'), undefined, 'a node that never reported has no map');
  assert.equal(
    inventory.apply(
      'n1',
      {
        type: 'images',
        full: true,
        images: [image('sha256:a', ['docker.io/library/nginx:latest'])],
        removed: [],
      },
      1,
    ),
    true,
  );
  const first = inventory.presence('n1');
  assert.deepEqual(
    [...(first ?? [])],
    [
      ['nginx:latest', 100],
      ['sha256:a', 100],
    ],
  );
  // Only a user changed: the scheduler's map stays the same object.
  const used = {
    ...image('sha256:a', ['docker.io/library/nginx:latest']),
    in_use_count: 1,
    in_use_by: ['web-0'],
  };
  assert.equal(inventory.apply('n1', { type: 'images', full: false, images: [used], removed: [] }, 2), false);
  assert.equal(inventory.presence('n1'), first);
  assert.equal(inventory.list()[0]?.images[0]?.in_use_count, 1);
  // A new image and a removal.
  assert.equal(
    inventory.apply(
      'n1',
      { type: 'images', full: false, images: [image('sha256:b', ['app:v1'])], removed: ['sha256:a'] },
      3,
    ),
    true,
  );
  assert.deepEqual([...(inventory.presence('n1') ?? []).keys()], ['app:v1', 'sha256:b']);
  // A full list replaces everything.
  inventory.apply('n1', { type: 'images', full: true, images: [], removed: [], truncated: true }, 4);
  assert.equal(inventory.presence('n1')?.size, 0);
  assert.equal(inventory.list()[0]?.truncated, true);
  inventory.forget('n1');
  assert.deepEqual(inventory.list(), []);
});
