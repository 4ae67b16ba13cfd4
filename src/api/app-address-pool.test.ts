/**
 * Addresses come back: services and networks created and deleted one at a time never exhaust
 * the pool, as long as agents acknowledge the endpoints without them and a DNS TTL passes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_NETWORKS, MAX_SERVICES } from '../model/addressing.ts';
import { DEFAULT_TTL_SECONDS } from '../net/dns/dns-answer.ts';
import { AGENT_FEATURES } from '../protocol/features.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { createFixture, GiB } from './test-fixture.ts';

const CYCLES = 3000;

test(`${CYCLES} create/delete cycles of a service on its own network never run out of addresses`, async () => {
  assert.ok(CYCLES > MAX_SERVICES && CYCLES > MAX_NETWORKS);
  const f = createFixture();
  const sent: ServerMessage[] = [];
  const outcome = f.cluster.connect(
    {
      name: 'n1',
      engine_id: 'e1',
      address: '10.0.0.1',
      labels: {},
      cpu_millicores: 4000,
      memory_bytes: 8 * GiB,
      engine_version: '27',
    },
    { send: (m) => sent.push(m), close: () => {} },
    f.clock,
    AGENT_FEATURES,
  );
  assert.ok(outcome.ok);
  // As the agent does: each generation acknowledged, whole set or delta.
  const ackLatest = () => {
    const last = sent.findLast((m) => m.type === 'endpoints' || m.type === 'endpoints.delta');
    if ((last?.type === 'endpoints' || last?.type === 'endpoints.delta') && last.generation !== undefined)
      f.cluster.ackEndpoints('n1', last.generation);
    sent.length = 0;
  };
  try {
    for (let i = 0; i < CYCLES; i++) {
      const name = `svc-${i}`;
      const deployed = await f.call('POST', '/api/deploy', {
        name,
        image: 'x:1',
        replicas: 0,
        networks: [`net-${i}`],
      });
      assert.equal(deployed.status, 201, `cycle ${i}: ${deployed.text}`);
      assert.equal((await f.call('DELETE', `/api/services/${name}`)).status, 200);
      ackLatest();
      f.controller.sync();
      f.clock += DEFAULT_TTL_SECONDS * 1000;
      f.controller.sync();
    }
    assert.ok(f.store.listAllocations().length <= 4, JSON.stringify(f.store.listAllocations()));
  } finally {
    f.close();
  }
});

test('a freed address is held while an agent has not acknowledged the endpoints without it', async () => {
  const f = createFixture();
  const sent: ServerMessage[] = [];
  f.cluster.connect(
    {
      name: 'slow',
      engine_id: 'e1',
      address: '10.0.0.1',
      labels: {},
      cpu_millicores: 4000,
      memory_bytes: 8 * GiB,
      engine_version: '27',
    },
    { send: (m) => sent.push(m), close: () => {} },
    f.clock,
    AGENT_FEATURES,
  );
  try {
    assert.equal((await f.call('POST', '/api/deploy', { name: 'a', image: 'x:1', replicas: 0 })).status, 201);
    assert.equal((await f.call('DELETE', '/api/services/a')).status, 200);
    f.clock += 60_000;
    f.controller.sync();
    assert.ok(
      f.store.listAllocations().some((a) => a.kind === 'service' && a.name === 'a'),
      'not acknowledged: still held',
    );
    const last = sent.findLast((m) => m.type === 'endpoints.delta');
    assert.ok(last?.type === 'endpoints.delta', 'the agent takes deltas: the removal comes as one');
    assert.deepEqual(last.removed, ['a'], 'the endpoints sent no longer name it');
    assert.deepEqual(last.services, []);
    f.cluster.ackEndpoints('slow', last.generation);
    f.controller.sync();
    assert.ok(
      f.store.listAllocations().some((a) => a.name === 'a'),
      'acknowledged, but within the TTL',
    );
    f.clock += DEFAULT_TTL_SECONDS * 1000;
    f.controller.sync();
    assert.ok(!f.store.listAllocations().some((a) => a.kind === 'service' && a.name === 'a'), 'released');
  } finally {
    f.close();
  }
});

test('addresses leaked by an older server (a full pool in the store) come back after a restart', async () => {
  const f = createFixture();
  try {
    for (let i = 0; i < MAX_NETWORKS; i++) f.store.allocate('network', `old-${i}`, 0, MAX_NETWORKS - 1);
    for (let i = 1; i <= MAX_SERVICES; i++) f.store.allocate('service', `old-${i}`, 1, MAX_SERVICES);
    assert.equal(
      (await f.call('POST', '/api/deploy', { name: 'new', image: 'x:1', replicas: 0 })).status,
      409,
    );
    f.controller.sync();
    f.clock += DEFAULT_TTL_SECONDS * 1000;
    f.controller.sync();
    assert.equal(
      (await f.call('POST', '/api/deploy', { name: 'new', image: 'x:1', replicas: 0 })).status,
      201,
    );
  } finally {
    f.close();
  }
});
