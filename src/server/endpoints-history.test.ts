/**
 * A service's published history: from any generation still within reach, what `serviceDelta`
 * says a node needs, patched into the service as it was then (the agent's `patchBackends`), is
 * the service as it is now (its backends in any order). Checked on 300 seeded chains of random
 * changes, with tombstones pruned as deltas stop starting early.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patchBackends } from '../net/data-plane/endpoints-delta.ts';
import type { Backend, ServiceEndpoints } from '../protocol/messages.ts';
import { seededRandom } from '../sim/random.ts';
import type { PublishedEndpoints } from './endpoints-history.ts';
import { latestDeltaBytes, publishService, serviceDelta } from './endpoints-history.ts';

type Random = () => number;

function backend(random: Random, id: string): Backend {
  return {
    task_id: id,
    node_id: `n${Math.floor(random() * 3)}`,
    address: '10.0.0.1',
    container_ip: random() < 0.2 ? null : `172.20.0.${Math.floor(random() * 3) + 2}`,
    ports: [],
  };
}

function randomService(random: Random, before: ServiceEndpoints | undefined): ServiceEndpoints {
  const ids = ['t1', 't2', 't3', 't4', 't5', 't6'].filter(() => random() < 0.6);
  const kept = new Map(before?.backends.map((b) => [b.task_id, b]));
  return {
    name: 'web',
    vip_index: before && random() < 0.9 ? before.vip_index : Math.floor(random() * 3) + 1,
    networks: [{ name: 'default', index: 0 }],
    ports: [],
    // Most backends stay as they were; some change (a new container IP), some come and go.
    backends: ids.map((id) => {
      const known = kept.get(id);
      return known && random() < 0.8 ? known : backend(random, id);
    }),
  };
}

const sorted = (service: ServiceEndpoints): ServiceEndpoints => ({
  ...service,
  backends: [...service.backends].sort((a, b) => (a.task_id < b.task_id ? -1 : 1)),
});

test('from any generation a delta can start at, the delta patched into the service then gives it now (300 seeds)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const random = seededRandom(seed);
    const history = new Map<number, ServiceEndpoints>();
    let published: PublishedEndpoints | undefined;
    let deltasSince = 0;
    for (let generation = 1; generation <= 30; generation++) {
      const entry = randomService(random, published?.entry);
      published = publishService(published, entry, JSON.stringify(entry), generation, deltasSince);
      history.set(generation, published.entry);
      // As the plan keeps it: it only moves on.
      if (random() < 0.3) deltasSince = Math.max(deltasSince, Math.floor(random() * generation));
      for (let base = Math.max(1, deltasSince); base <= generation; base++) {
        const then = history.get(base);
        assert.ok(then);
        const delta = serviceDelta(published, base, true);
        const merged =
          delta.kind === 'unchanged'
            ? then
            : delta.kind === 'whole'
              ? delta.entry
              : patchBackends(then, delta.patch);
        assert.deepEqual(
          sorted(merged),
          sorted(entry),
          `seed ${seed}: generation ${generation} from ${base}`,
        );
      }
    }
  }
});

test('only what changed: a backend replaced costs its own bytes, a changed VIP sends the service whole', () => {
  const random = seededRandom(1);
  const backends = ['a', 'b', 'c'].map((id) => backend(random, id));
  const first: ServiceEndpoints = { name: 'web', vip_index: 1, networks: [], ports: [], backends };
  const one = publishService(undefined, first, JSON.stringify(first), 1, 0);
  assert.deepEqual(serviceDelta(one, 0, true), { kind: 'whole', entry: first }, 'new since 0: whole');
  assert.deepEqual(serviceDelta(one, 1, true), { kind: 'unchanged' });
  assert.equal(publishService(one, first, JSON.stringify(first), 2, 0), one, 'the same text: kept as it is');
  const d = backend(random, 'd');
  const replaced = { ...first, backends: [backends[0] as Backend, backends[1] as Backend, d] };
  const two = publishService(one, replaced, JSON.stringify(replaced), 2, 0);
  assert.deepEqual(serviceDelta(two, 1, true), {
    kind: 'patch',
    patch: { name: 'web', backends: [d], removed: ['c'] },
  });
  assert.deepEqual(serviceDelta(two, 1, false), { kind: 'whole', entry: replaced }, 'no patches: whole');
  assert.ok(latestDeltaBytes(two, true) < latestDeltaBytes(two, false) / 2);
  const moved = { ...replaced, vip_index: 2 };
  const three = publishService(two, moved, JSON.stringify(moved), 3, 0);
  assert.deepEqual(serviceDelta(three, 2, true), { kind: 'whole', entry: moved });
  const four = publishService(three, { ...moved, backends: [] }, 'x', 4, 3);
  assert.deepEqual(
    [...four.removedBackends.keys()].sort(),
    ['a', 'b', 'd'],
    'the tombstone of c (generation 2) is gone: no delta starts before 3',
  );
});
