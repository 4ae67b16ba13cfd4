/**
 * The fleet's shared endpoints reader: interleaved messages (nodes on different generations) are
 * each parsed once, and a merge gives what the agent's own merge gives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullSet, mergeEndpoints } from '../net/data-plane/endpoints-delta.ts';
import type { ServiceEndpoints } from '../protocol/messages.ts';
import { SharedEndpoints } from './shared-endpoints.ts';

const web = (backends: string[]): ServiceEndpoints => ({
  name: 'web',
  vip_index: 1,
  networks: [{ name: 'default', index: 0 }],
  ports: [],
  backends: backends.map((id) => ({
    task_id: id,
    node_id: 'n1',
    address: '10.0.0.1',
    container_ip: null,
    ports: [],
  })),
});
const bytes = (message: object) => Buffer.from(JSON.stringify(message));

test('interleaved messages are parsed once each, and merges are the agent merge', () => {
  const shared = new SharedEndpoints();
  const whole = bytes({ type: 'endpoints', generation: 1, services: [web(['a'])], node_addresses: [] });
  const fromOne = bytes({
    type: 'endpoints.delta',
    generation: 3,
    base_generation: 1,
    services: [],
    removed: [],
    patched: [{ name: 'web', backends: web(['b', 'c']).backends, removed: ['a'] }],
  });
  const fromTwo = bytes({
    type: 'endpoints.delta',
    generation: 3,
    base_generation: 2,
    services: [web(['b', 'c'])],
    removed: [],
  });
  for (let i = 0; i < 3; i++)
    for (const data of [whole, fromOne, fromTwo, fromOne]) assert.ok(shared.read(Buffer.from(data)));
  assert.equal(shared.parsed, 3, 'three distinct messages, each parsed once');
  const first = shared.read(whole);
  const delta = shared.read(fromOne);
  assert.ok(first?.type === 'endpoints' && delta?.type === 'endpoints.delta');
  const held = shared.apply(fullSet(undefined, [], undefined), first);
  assert.equal(held.kind, 'applied');
  if (held.kind !== 'applied') return;
  const merged = shared.apply(held.set, delta);
  assert.deepEqual(
    merged,
    mergeEndpoints(held.set, {
      generation: 3,
      baseGeneration: 1,
      services: [],
      removed: [],
      peers: undefined,
      patched: delta.patched,
    }),
  );
  assert.equal(shared.apply(held.set, delta), merged, 'the same merge is shared');
});
