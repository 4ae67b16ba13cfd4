import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { containerDefinition } from './container-definition.ts';

const CLUSTER = { clusterId: 'cluster-1', pool: DEFAULT_POOL };

function task(spec: Record<string, unknown>): TaskSpec {
  return {
    task_id: 't0123456789abcdef',
    service: 'web',
    slot: 2,
    revision: 1,
    spec: serviceSpecSchema.parse({ name: 'web', image: 'skiff-demo:v1', ...spec }),
    networks: [{ name: 'default', index: 0 }],
  };
}

test('init, stop signal and grace period reach the create body', () => {
  const { body } = containerDefinition(
    task({ init: true, stop_signal: 'SIGQUIT', stop_grace_period: '2500ms' }),
    CLUSTER,
  );
  assert.equal((body.HostConfig as Record<string, unknown>).Init, true);
  assert.equal(body.StopSignal, 'SIGQUIT');
  assert.equal(body.StopTimeout, 3, 'whole seconds, rounded up');
});

test("without them the image's own behaviour stands", () => {
  const { body } = containerDefinition(task({}), CLUSTER);
  assert.equal((body.HostConfig as Record<string, unknown>).Init, undefined);
  assert.equal(body.StopSignal, undefined);
  assert.equal(body.StopTimeout, 10);
});

test('stop signals come from a fixed list', () => {
  assert.equal(
    serviceSpecSchema.safeParse({ name: 'web', image: 'x', stop_signal: 'SIGTERM' }).success,
    true,
  );
  for (const bad of ['TERM', 'SIGFOO', 'sigterm', '15', 'SIGTERM; rm -rf /']) {
    assert.equal(
      serviceSpecSchema.safeParse({ name: 'web', image: 'x', stop_signal: bad }).success,
      false,
      bad,
    );
  }
  assert.equal(serviceSpecSchema.safeParse({ name: 'web', image: 'x', init: 'yes' }).success, false);
});

test('each attempt of a task gets a container name of its own', () => {
  const names = [0, 1, 2].map((attempt) => containerDefinition(task({}), CLUSTER, attempt).name);
  assert.deepEqual(names, ['web-2.t0123456789a', 'web-2.t0123456789a.1', 'web-2.t0123456789a.2']);
});
