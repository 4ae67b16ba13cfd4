/**
 * Rollouts through the API, with a fake agent link reporting replicas: a changed spec rolls out
 * and completes, history lists the revisions, undo returns to the previous one (keeping its
 * replicas), and a new revision whose replica fails rolls back by itself.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { revisionViewSchema } from '../model/rollout.ts';
import type { TaskObservation } from '../model/task.ts';
import { serviceViewSchema } from '../model/views.ts';
import type { FakeNode, Fixture } from './test-fixture.ts';
import { createFixture, reportAssigned } from './test-fixture.ts';

let f: Fixture;
let node: FakeNode;

beforeEach(() => {
  f = createFixture();
  node = f.connectNode('n1');
});
afterEach(() => f.close());

const SPEC = { name: 'web', image: 'skiff-demo:v1', replicas: 1, update: { min_healthy_time: '0s' } };

/** The agent reports every assigned task as `state` (ready long enough when running). */
const report = (state: TaskObservation['state'], message: string | null = null) =>
  reportAssigned(f, node, state, message);

async function service() {
  return serviceViewSchema.parse((await f.call('GET', '/api/services/web')).body);
}

describe('rollouts', () => {
  test('a changed spec rolls out, completes, and shows in the history', async () => {
    await f.call('POST', '/api/deploy', SPEC);
    report('running');
    assert.equal((await service()).rollout?.state, 'complete');

    await f.call('POST', '/api/deploy', { ...SPEC, image: 'skiff-demo:v2' });
    const updating = await service();
    assert.equal(updating.status, 'updating');
    assert.deepEqual(
      [updating.rollout?.from_revision, updating.rollout?.to_revision, updating.rollout?.state],
      [1, 2, 'in_progress'],
    );
    report('running');
    const done = await service();
    assert.equal(done.rollout?.state, 'complete');
    assert.deepEqual(
      node.lastAssign()?.tasks.map((t) => t.revision),
      [2],
      'the old replica was told to stop once the new one ran',
    );

    const history = revisionViewSchema
      .array()
      .parse((await f.call('GET', '/api/services/web/revisions')).body);
    assert.deepEqual(
      history.map((r) => [r.revision, r.image, r.current]),
      [
        [1, 'skiff-demo:v1', false],
        [2, 'skiff-demo:v2', true],
      ],
    );
  });

  test('undo returns to the previous revision; nothing earlier is a 409, an unknown revision a 400', async () => {
    await f.call('POST', '/api/deploy', SPEC);
    report('running');
    assert.equal((await f.call('POST', '/api/services/web/rollback', {})).status, 409);
    await f.call('POST', '/api/deploy', { ...SPEC, image: 'skiff-demo:v2' });
    report('running');
    const undone = await f.call('POST', '/api/services/web/rollback', {});
    assert.equal(undone.status, 200);
    const view = serviceViewSchema.parse(undone.body);
    assert.equal(view.revision, 1);
    assert.equal(view.image, 'skiff-demo:v1');
    assert.deepEqual([view.rollout?.from_revision, view.rollout?.to_revision], [2, 1]);
    const bad = await f.call('POST', '/api/services/web/rollback', { revision: 9 });
    assert.equal(bad.status, 400);
    assert.match(String((bad.body as { error: string }).error), /no revision 9/);
  });

  test('a new revision whose replica fails rolls back by itself, keeping the old replica', async () => {
    await f.call('POST', '/api/deploy', SPEC);
    report('running');
    const oldTask = node.lastAssign()?.tasks[0]?.task_id;
    await f.call('POST', '/api/deploy', { ...SPEC, image: '127.0.0.1:1/none:latest' });
    const assigned = node.lastAssign()?.tasks ?? [];
    assert.equal(assigned.length, 2, 'start-first: old and new side by side');
    // The new replica fails to pull; the old one still runs.
    f.controller.applyReport(node.id, {
      type: 'report',
      generation: 2,
      full: false,
      removed: [],
      events: [],
      tasks: assigned
        .filter((t) => t.task_id !== oldTask)
        .map((t) => ({
          task_id: t.task_id,
          state: 'failed' as const,
          container_id: null,
          health: 'none' as const,
          message: 'pull 127.0.0.1:1/none:latest: connection refused',
          exit_code: null,
          restart_count: 0,
          ports: [],
          retry_at: null,
          ready_since: null,
          ip: null,
        })),
    });
    // Before the controller's next pass judges it, the service reads as updating, not failed: a
    // client waiting on the rollout must not stop at the replica's failure.
    const between = await service();
    assert.equal(between.status, 'updating');
    assert.match(between.message ?? '', /web-0: pull 127\.0\.0\.1:1\/none:latest: connection refused/);
    f.controller.sync();
    f.controller.sync();
    const after = await service();
    assert.equal(after.revision, 1);
    assert.equal(after.image, 'skiff-demo:v1');
    assert.equal(after.rollout?.state, 'rolled_back');
    assert.match(after.rollout?.message ?? '', /web-0 failed: pull 127\.0\.0\.1:1\/none:latest/);
    assert.deepEqual(
      node.lastAssign()?.tasks.map((t) => t.task_id),
      [oldTask],
      'the old replica was never touched',
    );
    const messages = f.store.listEvents({ limit: 100 }).map((e) => e.message);
    assert.ok(
      messages.some(
        (m) => m.startsWith('Rollout of web to revision 2 failed') && m.endsWith('rolled back to revision 1'),
      ),
    );
  });
});

test('a service created again under a deleted name inherits nothing: revisions, history, rollback', async () => {
  const first = await f.call('POST', '/api/deploy', { ...SPEC, env: { SECRET: 'old' } });
  assert.equal(first.status, 201);
  assert.equal((await f.call('POST', '/api/deploy', { ...SPEC, image: 'skiff-demo:v2' })).status, 200);
  assert.equal((await f.call('DELETE', '/api/services/web')).status, 200);
  const again = await f.call('POST', '/api/deploy', { ...SPEC, image: 'skiff-demo:latest' });
  assert.equal(again.status, 201, again.text);
  assert.equal(serviceViewSchema.parse(again.body).revision, 1);
  const history = revisionViewSchema.array().parse((await f.call('GET', '/api/services/web/revisions')).body);
  assert.deepEqual(
    history.map((r) => [r.revision, r.image]),
    [[1, 'skiff-demo:latest']],
  );
  assert.equal((await f.call('POST', '/api/services/web/rollback', {})).status, 409);
  const sent = node.lastAssign()?.tasks.find((t) => t.service === 'web' && t.revision === 1);
  assert.equal(sent?.spec.image, 'skiff-demo:latest', 'the agent gets the new spec, not a cached namesake');
  assert.deepEqual(sent?.spec.env, {});
});
