import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConstraint } from './constraints.ts';
import {
  IMAGE_LOCALITY_WEIGHT,
  imageLocalityScore,
  LOCALITY_MAX_BYTES,
  LOCALITY_MIN_BYTES,
  localityFraction,
  normalizeImageReference,
} from './image-locality.ts';
import type { PlacementRequest } from './scheduler.ts';
import { schedule } from './scheduler.ts';
import { request as baseRequest, node } from './scheduler-fixture.ts';

const GiB = 1024 ** 3;
const MB = 1024 * 1024;

/** Every request here is for app:v2 unless it says otherwise. */
const request = (taskId: string, overrides: Partial<PlacementRequest> = {}): PlacementRequest =>
  baseRequest(taskId, { image: 'app:v2', ...overrides });

const has = (ref: string, bytes: number) => new Map([[normalizeImageReference(ref), bytes]]);

test('references are compared in one spelling: Docker Hub and :latest implied', () => {
  assert.equal(normalizeImageReference('nginx'), 'nginx:latest');
  assert.equal(normalizeImageReference('docker.io/library/nginx:1.27'), 'nginx:1.27');
  assert.equal(normalizeImageReference('library/nginx'), 'nginx:latest');
  assert.equal(normalizeImageReference('docker.io/team/app'), 'team/app:latest');
  assert.equal(normalizeImageReference('127.0.0.1:5000/app'), '127.0.0.1:5000/app:latest');
  assert.equal(normalizeImageReference('127.0.0.1:5000/app:v1'), '127.0.0.1:5000/app:v1');
  assert.equal(normalizeImageReference(`app@sha256:${'a'.repeat(64)}`), `app@sha256:${'a'.repeat(64)}`);
});

test('the score grows with size, shrinks when few nodes have the image, and is clamped as Kubernetes does', () => {
  assert.equal(localityFraction(0, 1, 1), 0);
  assert.equal(localityFraction(500 * MB, 0, 4), 0);
  // Below 23 MB (after the spread), a pull is quick: nothing.
  assert.equal(localityFraction(20 * MB, 1, 1), 0);
  assert.equal(localityFraction(80 * MB, 1, 4), 0);
  assert.equal(localityFraction(2 * LOCALITY_MAX_BYTES, 1, 1), 1);
  const small = localityFraction(200 * MB, 2, 2);
  const large = localityFraction(800 * MB, 2, 2);
  assert.ok(small > 0 && large > small && large < 1, `${small} < ${large}`);
  // On one node of four it counts a quarter of its size.
  assert.equal(localityFraction(800 * MB, 1, 4), localityFraction(200 * MB, 4, 4));
  assert.equal(
    localityFraction(LOCALITY_MIN_BYTES + 100 * MB, 1, 1),
    (100 * MB) / (LOCALITY_MAX_BYTES - LOCALITY_MIN_BYTES),
  );
  assert.equal(imageLocalityScore(2 * LOCALITY_MAX_BYTES, 1, 1), IMAGE_LOCALITY_WEIGHT);
});

test('among equal nodes, the one that has the image wins, and the schedule says why', () => {
  const nodes = [node('a'), node('b'), node('c', { images: has('app:v2', 900 * MB) })];
  const [placement] = schedule(nodes, [request('1')]);
  assert.deepEqual(placement, {
    taskId: '1',
    placed: true,
    nodeId: 'c',
    locality: 'image app:v2 is already on c',
  });
  // Without an image to prefer, the id order decides (a), as before.
  assert.deepEqual(schedule(nodes, [request('1', { image: undefined })])[0], {
    taskId: '1',
    placed: true,
    nodeId: 'a',
  });
  // Another image on c: no preference.
  assert.deepEqual(schedule(nodes, [request('1', { image: 'other:v1' })])[0], {
    taskId: '1',
    placed: true,
    nodeId: 'a',
  });
});

test('a node that would win anyway and has the image carries no locality note', () => {
  const nodes = [node('a', { images: has('app:v2', 900 * MB) }), node('b')];
  assert.deepEqual(schedule(nodes, [request('1')])[0], { taskId: '1', placed: true, nodeId: 'a' });
});

test('the larger image on a node outweighs a smaller one elsewhere', () => {
  // One name at two sizes is contrived (two builds of a tag), but the order must follow size.
  const nodes = [
    node('a', { images: has('app:v2', 300 * MB) }),
    node('b', { images: has('app:v2', 900 * MB) }),
  ];
  assert.deepEqual(schedule(nodes, [request('1')])[0], {
    taskId: '1',
    placed: true,
    nodeId: 'b',
    locality: 'image app:v2 is already on b',
  });
});

test('locality never overrides resources, constraints, anti-affinity or a real packing difference', () => {
  const image = has('app:v2', 10 * GiB);
  // Not enough memory on the node with the image: it is filtered out before scoring.
  const full = schedule(
    [node('a'), node('b', { images: image, allocatedMemoryBytes: 8 * GiB })],
    [request('1', { demand: { cpuMillicores: 0, memoryBytes: GiB } })],
  );
  assert.equal(full[0]?.placed && full[0].nodeId, 'a');
  // A constraint the node with the image fails.
  const constrained = schedule(
    [node('a', { labels: { disk: 'ssd' } }), node('b', { images: image })],
    [request('1', { constraints: [parseConstraint('disk==ssd')] })],
  );
  assert.equal(constrained[0]?.placed && constrained[0].nodeId, 'a');
  // Anti-affinity: a second replica of the service goes to the node without the image.
  const spread = schedule(
    [node('a'), node('b', { images: image, serviceCounts: new Map([['web', 1]]) })],
    [request('1')],
  );
  assert.equal(spread[0]?.placed && spread[0].nodeId, 'a');
  // Binpack: a node 25% fuller wins over the empty one that has the image.
  const packed = schedule(
    [node('a', { images: image }), node('b', { allocatedMemoryBytes: 2 * GiB })],
    [request('1', { service: 'other', demand: { cpuMillicores: 0, memoryBytes: GiB / 4 } })],
  );
  assert.equal(packed[0]?.placed && packed[0].nodeId, 'b');
  // Spread strategy likewise: the emptier node wins.
  const spreadStrategy = schedule(
    [node('a', { images: image, allocatedMemoryBytes: 2 * GiB }), node('b')],
    [request('1', { strategy: 'spread', demand: { cpuMillicores: 0, memoryBytes: GiB / 4 } })],
  );
  assert.equal(spreadStrategy[0]?.placed && spreadStrategy[0].nodeId, 'b');
});

test('the snapshot is never mutated and the same inputs give the same plan', () => {
  const images = has('app:v2', 900 * MB);
  const nodes = [node('a'), node('b', { images })];
  const before = JSON.stringify([...images]);
  const first = schedule(nodes, [request('1'), request('2'), request('3')]);
  const second = schedule(nodes, [request('1'), request('2'), request('3')]);
  assert.deepEqual(first, second);
  assert.equal(JSON.stringify([...images]), before);
  // One replica per node: the first takes b for its image, the next a, the third doubles up.
  assert.deepEqual(
    first.map((p) => p.placed && p.nodeId),
    ['b', 'a', 'b'],
  );
});
