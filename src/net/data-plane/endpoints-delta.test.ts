/**
 * A delta merged into the set it follows gives the whole set of its generation: checked on 500
 * seeded random pairs of sets (and chains of them), against the whole set itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceEndpoints } from '../../protocol/messages.ts';
import { seededRandom } from '../../sim/random.ts';
import type { EndpointSet, EndpointsDelta } from './endpoints-delta.ts';
import { EMPTY_ENDPOINT_SET, fullSet, mergeEndpoints } from './endpoints-delta.ts';

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

function randomService(random: Random, name: string): ServiceEndpoints {
  const backends = Array.from({ length: Math.floor(random() * 4) }, (_, i) => ({
    task_id: `${name}-t${i}-${Math.floor(random() * 3)}`,
    node_id: pick(random, ['n1', 'n2', 'n3']),
    address: pick(random, ['10.0.0.1', '10.0.0.2']),
    container_ip: random() < 0.2 ? null : `172.20.0.${Math.floor(random() * 5) + 2}`,
    ports: [],
  }));
  return {
    name,
    vip_index: Math.floor(random() * 3) + 1,
    networks: [{ name: 'default', index: 0 }],
    ports: [{ container_port: 80, protocol: 'tcp', mode: 'ingress', app_protocol: 'tcp' }],
    backends,
    ...(random() < 0.2 ? { aliases: ['short'] } : {}),
  };
}

/** A whole set as the server lists it: services in name order. */
function randomSet(random: Random, generation: number): EndpointSet {
  const names = ['api', 'db', 'web', 'web-2', 'worker', 'Zeta', 'a.b'].filter(() => random() < 0.6);
  const peers =
    random() < 0.1 ? undefined : ['10.0.0.1', '10.0.0.2', '10.0.0.3'].filter(() => random() < 0.7);
  return fullSet(
    generation,
    names.sort().map((name) => randomService(random, name)),
    peers,
  );
}

/** The reference delta: what differs between two whole sets, as the server would send it. */
function diff(before: EndpointSet, after: EndpointSet): EndpointsDelta {
  const old = new Map(before.services.map((s) => [s.name, JSON.stringify(s)]));
  const now = new Set(after.services.map((s) => s.name));
  return {
    generation: after.generation ?? 0,
    baseGeneration: before.generation ?? 0,
    services: after.services.filter((s) => old.get(s.name) !== JSON.stringify(s)),
    removed: before.services.map((s) => s.name).filter((name) => !now.has(name)),
    peers: JSON.stringify(before.peers) === JSON.stringify(after.peers) ? undefined : after.peers,
  };
}

test('a delta merged into the set it follows is the whole set of its generation (500 seeds)', () => {
  for (let seed = 1; seed <= 500; seed++) {
    const random = seededRandom(seed);
    let held = randomSet(random, 10);
    const frozen = JSON.stringify(held);
    for (let step = 1; step <= 5; step++) {
      const next = randomSet(random, 10 + step);
      // Peers absent from a whole set stay absent; a delta never says "none" (undefined: unchanged).
      if (next.peers === undefined && held.peers !== undefined) continue;
      const before = held;
      const outcome = mergeEndpoints(held, diff(held, next));
      assert.equal(outcome.kind, 'applied', `seed ${seed}`);
      if (outcome.kind !== 'applied') return;
      assert.deepEqual(outcome.set, next, `seed ${seed} step ${step}`);
      if (step === 1)
        assert.equal(JSON.stringify(before), frozen, `seed ${seed}: the held set is not mutated`);
      held = outcome.set;
    }
  }
});

test('a delta against another generation is not applied: the agent asks for the whole set', () => {
  const random = seededRandom(7);
  const held = randomSet(random, 4);
  const outcome = mergeEndpoints(held, { ...diff(held, randomSet(random, 6)), baseGeneration: 5 });
  assert.deepEqual(outcome, { kind: 'resync', held: 4 });
  assert.equal(
    mergeEndpoints(EMPTY_ENDPOINT_SET, { ...diff(held, held), baseGeneration: 4 }).kind,
    'resync',
    'nothing held yet',
  );
});

test('removals before additions: a service removed and added again in one delta is the added one', () => {
  const random = seededRandom(3);
  const web = randomService(random, 'web');
  const held = fullSet(1, [web], ['10.0.0.1']);
  const again = { ...web, vip_index: 9 };
  const outcome = mergeEndpoints(held, {
    generation: 2,
    baseGeneration: 1,
    services: [again],
    removed: ['web'],
    peers: undefined,
  });
  assert.deepEqual(outcome, { kind: 'applied', set: fullSet(2, [again], ['10.0.0.1']) });
});
