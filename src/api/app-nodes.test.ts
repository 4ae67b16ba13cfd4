/**
 * Node operations through the API, with fake agent links and the fixture's clock: cordon,
 * drain (start-first), labels and constraints, a node going down and its replicas moving, and
 * the pending reasons a user sees.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { nodeViewSchema, serviceViewSchema } from '../model/views.ts';
import { DEFAULT_LIVENESS } from '../server/node-liveness.ts';
import type { FakeNode, Fixture } from './test-fixture.ts';
import { createFixture, reportAssigned } from './test-fixture.ts';

let f: Fixture;

beforeEach(() => {
  f = createFixture();
});
afterEach(() => f.close());

async function service(name: string) {
  return serviceViewSchema.parse((await f.call('GET', `/api/services/${name}`)).body);
}

const assignedTo = (node: FakeNode) =>
  (node.lastAssign()?.tasks ?? []).map((t) => `${t.service}-${t.slot}`).sort();

describe('node operations', () => {
  test('a cordoned node gets no new replicas; uncordoned it does again', async () => {
    const a = f.connectNode('a');
    const b = f.connectNode('b');
    const cordoned = await f.call('POST', '/api/nodes/a/cordon');
    assert.equal(nodeViewSchema.parse(cordoned.body).availability, 'cordoned');
    await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 2 });
    assert.deepEqual(assignedTo(a), []);
    assert.deepEqual(assignedTo(b), ['web-0', 'web-1']);
    await f.call('POST', '/api/nodes/a/uncordon');
    await f.call('POST', '/api/services/web/scale', { replicas: 3 });
    assert.deepEqual(assignedTo(a), ['web-2']);
  });

  test('drain moves replicas away, each started before the old one stops', async () => {
    const a = f.connectNode('a');
    await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 2 });
    reportAssigned(f, a);
    const b = f.connectNode('b');
    await f.call('POST', '/api/nodes/a/drain');
    assert.deepEqual(assignedTo(a), ['web-0', 'web-1'], 'the old replicas keep running meanwhile');
    assert.deepEqual(assignedTo(b), ['web-0'], 'one replacement at a time (max_surge 1)');
    reportAssigned(f, b);
    assert.deepEqual(assignedTo(a), ['web-1'], 'once web-0 runs on b, its predecessor stops');
    assert.deepEqual(assignedTo(b), ['web-0', 'web-1']);
    reportAssigned(f, b);
    assert.deepEqual(assignedTo(a), [], 'drained');
    const messages = (f.store.listEvents({ limit: 100 }) ?? []).map((e) => e.message);
    assert.ok(messages.includes('Node a draining: its replicas move to other nodes (by token admin)'));
  });

  test('a drain with nowhere to go keeps the replicas where they are, pending with a reason', async () => {
    const a = f.connectNode('a');
    await f.call('POST', '/api/deploy', { name: 'web', image: 'x:1', replicas: 1 });
    reportAssigned(f, a);
    await f.call('POST', '/api/nodes/a/drain');
    assert.deepEqual(assignedTo(a), ['web-0']);
    const view = await service('web');
    assert.equal(view.status, 'pending');
    assert.match(view.message ?? '', /0\/1 nodes available: 1 node cordoned/);
  });

  test('labels set through the API drive constraints', async () => {
    f.connectNode('a');
    const b = f.connectNode('b');
    const labelled = await f.call('PUT', '/api/nodes/b/labels', { labels: { zone: 'eu-1' } });
    assert.deepEqual(nodeViewSchema.parse(labelled.body).labels, { zone: 'eu-1' });
    await f.call('POST', '/api/deploy', {
      name: 'web',
      image: 'x:1',
      replicas: 2,
      placement: { constraints: ['zone==eu-1'] },
    });
    assert.deepEqual(assignedTo(b), ['web-0', 'web-1']);
    const bad = await f.call('PUT', '/api/nodes/b/labels', { labels: { zone: 7 } });
    assert.equal(bad.status, 400);
    assert.match(String((bad.body as { error: string }).error), /labels\.zone/);
    const badConstraint = await f.call('POST', '/api/deploy', {
      name: 'web2',
      image: 'x:1',
      placement: { constraints: ['zone=eu-1'] },
    });
    assert.equal(badConstraint.status, 400);
    assert.match(String((badConstraint.body as { error: string }).error), /placement\.constraints\.0/);
  });

  test('a node silent past the grace is down and its replicas move; unknown nodes are 404', async () => {
    const a = f.connectNode('a');
    const b = f.connectNode('b');
    await f.call('POST', '/api/deploy', {
      name: 'web',
      image: 'x:1',
      replicas: 2,
      placement: { strategy: 'spread' },
    });
    reportAssigned(f, a);
    reportAssigned(f, b);
    assert.deepEqual(assignedTo(a), ['web-0']);
    // b keeps heartbeating; a falls silent.
    const start = f.clock;
    f.clock = start + DEFAULT_LIVENESS.heartbeatTimeoutMs + 1;
    f.cluster.heartbeat('b', f.clock);
    f.controller.sync();
    assert.equal(f.cluster.get('a')?.status, 'unreachable');
    assert.deepEqual(assignedTo(b), ['web-1'], 'unreachable alone moves nothing');
    f.clock = start + DEFAULT_LIVENESS.downAfterMs;
    f.cluster.heartbeat('b', f.clock);
    f.controller.sync();
    assert.equal(f.cluster.get('a')?.status, 'down');
    assert.deepEqual(assignedTo(b), ['web-0', 'web-1']);
    const messages = f.store.listEvents({ limit: 100 }).map((e) => e.message);
    assert.ok(
      messages.includes(
        `Node a is down (silent for ${DEFAULT_LIVENESS.downAfterMs / 1000}s): its replicas are rescheduled`,
      ),
    );
    assert.ok(messages.includes('Rescheduling web-0: node a is down'));
    assert.equal((await f.call('POST', '/api/nodes/nope/cordon')).status, 404);
    assert.equal(
      (await f.call('DELETE', '/api/nodes/b')).status,
      409,
      'a connected node cannot be forgotten',
    );
  });
});
