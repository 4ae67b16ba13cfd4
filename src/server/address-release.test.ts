import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReleaseInput } from './address-release.ts';
import { planRelease } from './address-release.ts';

const base: ReleaseInput = {
  allocations: [
    { kind: 'service', name: 'gone', index: 1 },
    { kind: 'service', name: 'kept', index: 2 },
    { kind: 'network', name: 'default', index: 0 },
  ],
  servicesInUse: new Set(['kept']),
  networksInUse: new Set(['default']),
  pending: new Map(),
  generation: 10,
  acknowledged: [9, 10],
  now: 1000,
  holdMs: 5000,
};

test('an unused address waits for every agent to acknowledge, then one TTL, then is released', () => {
  const waiting = planRelease(base);
  assert.deepEqual(waiting.release, []);
  assert.deepEqual([...waiting.pending], [['service/gone', { generation: 10, ackedAt: null }]]);

  const acked = planRelease({
    ...base,
    pending: waiting.pending,
    acknowledged: [10, 11],
    generation: 11,
    now: 2000,
  });
  assert.deepEqual(acked.release, [], 'acknowledged, but cached DNS answers may still name it');
  assert.deepEqual(acked.pending.get('service/gone'), { generation: 10, ackedAt: 2000 });

  const early = planRelease({ ...base, pending: acked.pending, acknowledged: [11, 11], now: 6999 });
  assert.deepEqual(early.release, []);
  const released = planRelease({ ...base, pending: early.pending, acknowledged: [11, 11], now: 7000 });
  assert.deepEqual(released.release, [{ kind: 'service', name: 'gone', index: 1 }]);
  assert.equal(released.pending.size, 0);
});

test('used again before it is released, an address simply stays; agents that cannot ack do not block', () => {
  const waiting = planRelease(base);
  const reused = planRelease({ ...base, pending: waiting.pending, servicesInUse: new Set(['kept', 'gone']) });
  assert.equal(reused.pending.size, 0);
  assert.deepEqual(reused.release, []);
  const oldAgents = planRelease({ ...base, acknowledged: [undefined, 10] });
  assert.equal(oldAgents.pending.get('service/gone')?.ackedAt, 1000);
  const noAgents = planRelease({ ...base, acknowledged: [], holdMs: 0 });
  assert.deepEqual(noAgents.release, [{ kind: 'service', name: 'gone', index: 1 }]);
});
