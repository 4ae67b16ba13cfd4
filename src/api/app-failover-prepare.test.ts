/**
 * Failover preparation through the real controller, store and cluster, with recording agent
 * links: a node whose link drops has its replicas prepared on the others (`prepare`); its agent
 * coming back within the grace empties those sets; a node called down gets its replicas assigned
 * under the prepared ids, where they were prepared.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { AGENT_FEATURES } from '../protocol/features.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { DEFAULT_LIVENESS } from '../server/node-liveness.ts';
import type { FakeNode, Fixture } from './test-fixture.ts';
import { createFixture, reportAssigned } from './test-fixture.ts';

let f: Fixture;
beforeEach(() => {
  f = createFixture();
});
afterEach(() => f.close());

type PrepareMessage = Extract<ServerMessage, { type: 'prepare' }>;
const prepares = (node: FakeNode) =>
  node.sent
    .filter((m): m is PrepareMessage => m.type === 'prepare')
    .map((m) => m.tasks.map((t) => t.task_id));

async function threeNodesRunning(): Promise<FakeNode[]> {
  const nodes = ['a', 'b', 'c'].map((id) => f.connectNode(id, { features: AGENT_FEATURES }));
  const response = await f.call('POST', '/api/deploy', {
    name: 'web',
    image: 'skiff-demo:v1',
    replicas: 6,
    placement: { strategy: 'spread' },
  });
  assert.equal(response.status, 201, JSON.stringify(response.body));
  f.controller.sync();
  for (const node of nodes) reportAssigned(f, node);
  return nodes;
}

test('a dropped link: its replicas are prepared on the others; back within the grace, the sets empty', async () => {
  const [a, , c] = (await threeNodesRunning()) as [FakeNode, FakeNode, FakeNode];
  const link = f.cluster.get('b')?.link;
  assert.ok(link);
  f.cluster.disconnect('b', link, f.clock);
  f.controller.sync();
  assert.equal(prepares(a).at(-1)?.length, 1);
  assert.equal(prepares(c).at(-1)?.length, 1);
  f.controller.sync();
  assert.equal(prepares(a).length, 1, 'sent once');
  f.connectNode('b', { features: AGENT_FEATURES });
  f.controller.sync();
  assert.deepEqual(prepares(a).at(-1), []);
  assert.deepEqual(prepares(c).at(-1), []);
  assert.equal(f.store.listTasks().filter((t) => t.desiredState === 'running').length, 6, 'nothing moved');
});

test('called down: its replicas are assigned under the prepared ids, where they were prepared', async () => {
  const [a, b, c] = (await threeNodesRunning()) as [FakeNode, FakeNode, FakeNode];
  const onB = b.lastAssign()?.tasks.map((t) => t.task_id) ?? [];
  const link = f.cluster.get('b')?.link;
  assert.ok(link);
  f.cluster.disconnect('b', link, f.clock);
  f.controller.sync();
  const preparedIds = [...(prepares(a).at(-1) ?? []), ...(prepares(c).at(-1) ?? [])];
  assert.equal(preparedIds.length, 2);
  f.clock += DEFAULT_LIVENESS.downAfterMs + 1;
  for (const id of ['a', 'c']) f.cluster.heartbeat(id, f.clock);
  f.controller.sync();
  assert.equal(f.cluster.get('b')?.status, 'down');
  const assigned = [...(a.lastAssign()?.tasks ?? []), ...(c.lastAssign()?.tasks ?? [])].map((t) => t.task_id);
  for (const id of preparedIds) assert.ok(assigned.includes(id), `${id} assigned`);
  const running = f.store.listTasks().filter((t) => t.desiredState === 'running');
  assert.equal(running.length, 6);
  assert.ok(!running.some((t) => onB.includes(t.id)));
  assert.deepEqual(prepares(a).at(-1), []);
});
