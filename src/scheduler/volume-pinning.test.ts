import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VolumeMount } from '../model/volume-spec.ts';
import type { NodeSnapshot, PlacementRequest } from './scheduler.ts';
import { schedule } from './scheduler.ts';
import { request as baseRequest, node } from './scheduler-fixture.ts';
import { type PinInput, volumePin } from './volume-pinning.ts';

const perSlot: VolumeMount[] = [{ type: 'volume', source: 'data-{{.Task.Slot}}', target: '/d' }];
const spec = { name: 'db', volumes: perSlot };

function pinOf(overrides: Partial<PinInput> = {}) {
  return volumePin({ spec, slot: 0, located: new Map(), moves: new Map(), slotHistory: [], ...overrides });
}

const request = (overrides: Partial<PlacementRequest> = {}): PlacementRequest =>
  baseRequest('t0', { service: 'db', ...overrides });

test('a replica is pinned to the node that reports its volume, with the reason', () => {
  assert.deepEqual(pinOf({ located: new Map([['data-0', ['node-2']]]) }), {
    nodeId: 'node-2',
    volume: 'data-0',
    reason: 'volume data-0 is on node-2',
  });
  assert.equal(
    pinOf({ located: new Map([['data-1', ['node-2']]]) }),
    undefined,
    "another slot's volume pins nothing",
  );
  assert.equal(pinOf(), undefined, 'a volume nowhere yet: the first node creates it');
});

test("a move wins over reports; of several copies, the slot's own node's; history stands in for a report not in yet", () => {
  const located = new Map([['data-0', ['node-1', 'node-3']]]);
  assert.equal(pinOf({ located, moves: new Map([['data-0', 'node-4']]) })?.nodeId, 'node-4');
  assert.equal(pinOf({ located })?.nodeId, 'node-1', 'lowest id without a history');
  const ranOn3 = [{ nodeId: 'node-3', volumes: new Set(['data-0']) }];
  assert.equal(pinOf({ located, slotHistory: ranOn3 })?.nodeId, 'node-3');
  assert.equal(pinOf({ slotHistory: ranOn3 })?.nodeId, 'node-3', 'ran there: its volume is there');
  const ranWithout = [{ nodeId: 'node-3', volumes: new Set(['other']) }];
  assert.equal(
    pinOf({ slotHistory: ranWithout }),
    undefined,
    'an earlier replica without the volume pins nothing',
  );
});

test('global services, shared templates and anonymous volumes', () => {
  const located = new Map([['data-0', ['node-2']]]);
  assert.equal(pinOf({ spec: { ...spec, mode: 'global' }, located }), undefined);
  const anonymous = { name: 'db', volumes: [{ type: 'volume', target: '/d' }] as VolumeMount[] };
  assert.equal(pinOf({ spec: anonymous, located: new Map([['', ['node-2']]]) }), undefined);
  const shared = {
    name: 'db',
    volumes: [{ type: 'volume', source: 'media', shared: true, target: '/m' }] as VolumeMount[],
  };
  assert.equal(pinOf({ spec: shared, slot: 5, located: new Map([['media', ['node-1']]]) })?.nodeId, 'node-1');
});

test('the scheduler places a pinned replica on its node only, even when another fits better', () => {
  const pin = { nodeId: 'b', volume: 'data-0', reason: 'volume data-0 is on b' };
  const nodes = [node('a', { allocatedMemoryBytes: 6 * 1024 ** 3 }), node('b'), node('c')];
  assert.deepEqual(schedule(nodes, [request({ pin })]), [{ taskId: 't0', placed: true, nodeId: 'b' }]);
  // Without the pin binpack takes the fuller node.
  assert.deepEqual(schedule(nodes, [request({ demand: { cpuMillicores: 0, memoryBytes: 1024 } })])[0], {
    taskId: 't0',
    placed: true,
    nodeId: 'a',
  });
});

test("a pinned replica whose node cannot take it waits, saying where its volume is and why that node can't", () => {
  const pin = { nodeId: 'b', volume: 'data-0', reason: 'volume data-0 is on b' };
  const move = 'skiff volume move data-0 --to NODE starts it elsewhere, empty';
  const reason = (nodes: NodeSnapshot[], overrides: Partial<PlacementRequest> = {}) => {
    const [placement] = schedule(nodes, [request({ pin, ...overrides })]);
    assert.equal(placement?.placed, false);
    return placement && !placement.placed ? placement.reason : '';
  };
  assert.equal(
    reason([node('a'), node('b', { status: 'down' })]),
    `volume data-0 is on b (node down; ${move})`,
  );
  assert.equal(
    reason([node('a'), node('b', { schedulable: false })]),
    `volume data-0 is on b (node cordoned; ${move})`,
  );
  assert.equal(
    reason([node('a'), node('b', { allocatedMemoryBytes: 8 * 1024 ** 3 })], {
      demand: { cpuMillicores: 0, memoryBytes: 1024 },
    }),
    `volume data-0 is on b (insufficient memory; ${move})`,
  );
  assert.equal(reason([node('a')]), `volume data-0 is on b, which is not in the cluster (${move})`);
});
