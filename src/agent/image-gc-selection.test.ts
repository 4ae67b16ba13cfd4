import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineImage, ImageUser } from '../docker/image-engine.ts';
import type { GcInputs, GcMode } from './image-gc-selection.ts';
import { DEFAULT_IMAGE_GC, keepReason, selectImagesToRemove } from './image-gc-selection.ts';
import type { PulledImage } from './pulled-images.ts';

const MB = 1024 * 1024;
const GB = 1024 * MB;
const NOW = 1_000_000_000;
const HOUR = 3_600_000;

function image(id: string, tags: string[], sizeBytes = 100 * MB, digests: string[] = []): EngineImage {
  return { id, repoTags: tags, repoDigests: digests, sizeBytes, createdAt: 0 };
}

function pulled(id: string, references: string[], pulledAgoMs: number, usedAgoMs?: number): PulledImage {
  return {
    id,
    references,
    pulled_at: NOW - pulledAgoMs,
    last_used_at: usedAgoMs === undefined ? null : NOW - usedAgoMs,
  };
}

function inputs(overrides: Partial<GcInputs> & { record?: PulledImage[] } = {}): GcInputs {
  const { record = [], ...rest } = overrides;
  return {
    images: [],
    users: [],
    pulled: new Map(record.map((entry) => [entry.id, entry])),
    desired: [],
    now: NOW,
    ...rest,
  };
}

/** A disk of 100 GB with `usedPercent` used, against the kubelet's 85/80 defaults. */
function disk(usedPercent: number): GcMode {
  return {
    kind: 'threshold',
    disk: { usedBytes: usedPercent * GB, totalBytes: 100 * GB },
    thresholds: DEFAULT_IMAGE_GC,
  };
}

const ids = (selection: { remove: readonly { id: string }[] }) => selection.remove.map((r) => r.id);

test('below the high-water mark nothing is collected', () => {
  const setup = inputs({
    images: [image('sha256:a', ['app:v1'])],
    record: [pulled('sha256:a', ['app:v1'], 10 * HOUR)],
  });
  assert.deepEqual(selectImagesToRemove(setup, disk(84.9)), {
    remove: [],
    bytesToFree: 0,
    reason: undefined,
  });
  const at = selectImagesToRemove(setup, disk(85));
  assert.deepEqual(ids(at), ['sha256:a']);
  assert.equal(at.reason, 'disk 85% used ≥ 85%');
  assert.equal(at.bytesToFree, 5 * GB);
});

test('oldest unused first, only until the low-water mark is reached', () => {
  const images = [
    image('sha256:new', ['app:v3'], 2 * GB),
    image('sha256:old', ['app:v1'], 2 * GB),
    image('sha256:mid', ['app:v2'], 2 * GB),
  ];
  const record = [
    pulled('sha256:new', ['app:v3'], 5 * HOUR, 1 * HOUR),
    // Pulled long ago but used until recently: younger than `mid`, which was never used.
    pulled('sha256:old', ['app:v1'], 50 * HOUR, 2 * HOUR),
    pulled('sha256:mid', ['app:v2'], 20 * HOUR),
  ];
  // 86% of 100 GB: 6 GB to free, three images of 2 GB: all three, oldest first.
  assert.deepEqual(ids(selectImagesToRemove(inputs({ images, record }), disk(86))), [
    'sha256:mid',
    'sha256:old',
    'sha256:new',
  ]);
  // A high mark of 84% at 84% used: 4 GB to free, two of them.
  const lower: GcMode = {
    kind: 'threshold',
    disk: { usedBytes: 84 * GB, totalBytes: 100 * GB },
    thresholds: { ...DEFAULT_IMAGE_GC, highPercent: 84 },
  };
  assert.deepEqual(ids(selectImagesToRemove(inputs({ images, record }), lower)), [
    'sha256:mid',
    'sha256:old',
  ]);
});

test('never an image Skiff did not pull, nor one someone else also named', () => {
  const images = [
    image('sha256:built', ['local:dev']),
    image('sha256:shared', ['app:v1', 'mine:keep']),
    image('sha256:skiff', ['app:v2']),
  ];
  const record = [
    pulled('sha256:shared', ['app:v1'], 10 * HOUR),
    pulled('sha256:skiff', ['app:v2'], 10 * HOUR),
  ];
  const setup = inputs({ images, record });
  assert.deepEqual(ids(selectImagesToRemove(setup, { kind: 'prune' })), ['sha256:skiff']);
  assert.equal(keepReason(images[0] as EngineImage, setup, new Set()), 'not pulled by Skiff');
  assert.equal(
    keepReason(images[1] as EngineImage, setup, new Set()),
    'also named mine:keep, which Skiff did not pull',
  );
});

test('a tag moved by a local build names an image that is not in the record', () => {
  // Skiff pulled app:v1 as image X; a local build then took the tag app:v1 (image Y). X is now
  // untagged and Skiff's; Y is not.
  const images = [image('sha256:x', []), image('sha256:y', ['app:v1'])];
  const record = [pulled('sha256:x', ['app:v1'], 10 * HOUR)];
  const selection = selectImagesToRemove(inputs({ images, record }), { kind: 'prune' });
  assert.deepEqual(selection.remove, [
    { id: 'sha256:x', names: ['sha256:x'], sizeBytes: 100 * MB, unusedSince: NOW - 10 * HOUR },
  ]);
});

test('never an image a container uses (any container), nor one a desired task runs', () => {
  const images = [
    image('sha256:used', ['app:v1']),
    image('sha256:wanted', ['docker.io/library/nginx:latest']),
    image('sha256:bydigest', [], 100 * MB, [`app@sha256:${'d'.repeat(64)}`]),
    image('sha256:free', ['app:v3']),
  ];
  const record = [
    pulled('sha256:used', ['app:v1'], 10 * HOUR),
    pulled('sha256:wanted', ['nginx'], 10 * HOUR),
    pulled('sha256:bydigest', [`app@sha256:${'d'.repeat(64)}`], 10 * HOUR),
    pulled('sha256:free', ['app:v3'], 10 * HOUR),
  ];
  const users: ImageUser[] = [{ containerName: 'someone-elses', imageId: 'sha256:used' }];
  const setup = inputs({ images, record, users, desired: ['nginx', `app@sha256:${'d'.repeat(64)}`] });
  assert.deepEqual(ids(selectImagesToRemove(setup, { kind: 'prune' })), ['sha256:free']);
  assert.equal(keepReason(images[1] as EngineImage, setup, new Set()), 'a desired task runs nginx');
  assert.equal(
    keepReason(images[0] as EngineImage, setup, new Set(['sha256:used'])),
    'in use by a container',
  );
});

test('recently used images wait out the minimum age at a threshold, not for a prune', () => {
  const images = [image('sha256:recent', ['app:v1']), image('sha256:fresh', ['app:v2'])];
  const record = [
    pulled('sha256:recent', ['app:v1'], 10 * HOUR, 60_000),
    pulled('sha256:fresh', ['app:v2'], 30_000),
  ];
  const setup = inputs({ images, record });
  assert.deepEqual(ids(selectImagesToRemove(setup, disk(99))), []);
  // Oldest unused first: used a minute ago comes before pulled half a minute ago.
  assert.deepEqual(ids(selectImagesToRemove(setup, { kind: 'prune' })), ['sha256:recent', 'sha256:fresh']);
});

test('an unknown disk size collects nothing; a low mark above the high one still frees under the high', () => {
  const images = [image('sha256:a', ['app:v1'], GB), image('sha256:b', ['app:v2'], GB)];
  const record = [pulled('sha256:a', ['app:v1'], 10 * HOUR), pulled('sha256:b', ['app:v2'], 9 * HOUR)];
  const setup = inputs({ images, record });
  const unknown: GcMode = {
    kind: 'threshold',
    disk: { usedBytes: 0, totalBytes: 0 },
    thresholds: DEFAULT_IMAGE_GC,
  };
  assert.deepEqual(ids(selectImagesToRemove(setup, unknown)), []);
  const inverted: GcMode = {
    kind: 'threshold',
    disk: { usedBytes: 90.5 * GB, totalBytes: 100 * GB },
    thresholds: { highPercent: 90, lowPercent: 95, minAgeMs: 0 },
  };
  assert.deepEqual(ids(selectImagesToRemove(setup, inverted)), ['sha256:a']);
});
