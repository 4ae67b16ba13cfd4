import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageView } from '../model/image-view.ts';
import { imageListView, pruneView } from './image-command.ts';
import { renderView } from './output-format.ts';

const row = (overrides: Partial<ImageView>): ImageView => ({
  node: 'node-1',
  repository: 'app',
  tag: 'v1',
  id: `sha256:${'a'.repeat(64)}`,
  digest: null,
  size_bytes: 52_428_800,
  in_use_by: [],
  in_use_count: 0,
  pulled_by_skiff: true,
  last_used_at: null,
  ...overrides,
});

test('image ls: one line per node and tag, who uses it and whether Skiff pulled it', () => {
  const rows = [
    row({ in_use_by: ['web-0', 'web-1'], in_use_count: 3 }),
    row({
      node: 'node-2',
      repository: null,
      tag: null,
      pulled_by_skiff: false,
      id: `sha256:${'b'.repeat(64)}`,
    }),
  ];
  const view = imageListView(rows);
  const table = view.table();
  assert.match(table[0] ?? '', /^NODE\s+IMAGE\s+ID\s+SIZE\s+IN USE BY\s+PULLED BY SKIFF$/);
  assert.match(table[1] ?? '', /^node-1\s+app:v1\s+aaaaaaaaaaaa\s+50Mi\s+web-0,web-1 \+1\s+yes$/);
  assert.match(table[2] ?? '', /^node-2\s+<none>\s+bbbbbbbbbbbb\s+.*\s-\s+no$/);
  assert.deepEqual(view.names?.(), ['node-1/app:v1', `node-2/sha256:${'b'.repeat(64)}`]);
  assert.match(view.wide?.()[0] ?? '', /DIGEST\s+LAST USED$/);
  assert.deepEqual(JSON.parse(renderView('json', view)), rows);
});

test('image prune: what each node removed, why one could not, and the total', () => {
  const lines = pruneView({
    nodes: [
      {
        node: 'node-1',
        removed: [{ id: 'sha256:abc', references: ['app:v1'], size_bytes: 1_000_000 }],
        reclaimed_bytes: 1_000_000,
        error: null,
      },
      { node: 'node-2', removed: [], reclaimed_bytes: 0, error: 'node is not connected' },
      { node: 'node-3', removed: [], reclaimed_bytes: 0, error: null },
    ],
    reclaimed_bytes: 1_000_000,
  }).table();
  assert.match(lines[0] ?? '', /^node-1: removed app:v1 \(abc, .+\)$/);
  assert.equal(lines[1], 'node-2: not pruned: node is not connected');
  assert.equal(lines[2], 'node-3: nothing to remove');
  assert.match(lines[3] ?? '', /^Total reclaimed space: /);
});
