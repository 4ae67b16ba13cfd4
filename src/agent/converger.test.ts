import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManagedContainer } from '../docker/container-engine.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { backoffMs } from './backoff.ts';
import type { ConvergeInput, TaskRuntime } from './converger.ts';
import { converge, FRESH_RUNTIME } from './converger.ts';

const spec = serviceSpecSchema.parse({
  name: 'web',
  image: 'skiff-demo:v1',
  restart_policy: { delay: '1s', max_delay: '8s' },
});

function task(id: string, overrides: Partial<TaskSpec['spec']> = {}): TaskSpec {
  return {
    task_id: id,
    service: 'web',
    slot: 0,
    revision: 1,
    spec: { ...spec, ...overrides },
    networks: [{ name: 'default', index: 0 }],
  };
}

function container(id: string, taskId: string, overrides: Partial<ManagedContainer> = {}): ManagedContainer {
  return {
    id,
    name: `web-0.${taskId}`,
    taskId,
    service: 'web',
    slot: 0,
    revision: 1,
    state: 'running',
    exitCode: null,
    oomKilled: false,
    startedAt: 1,
    ports: [],
    ip: null,
    ...overrides,
  };
}

function input(overrides: Partial<ConvergeInput>): ConvergeInput {
  return {
    desired: [],
    warm: true,
    unhealthy: new Set(),
    containers: [],
    runtime: new Map(),
    busy: new Set(),
    now: 10_000,
    stableAfterMs: 10_000,
    ...overrides,
  };
}

test('creates missing containers and leaves running ones alone', () => {
  const plan = converge(input({ desired: [task('t1'), task('t2')], containers: [container('c1', 't1')] }));
  assert.deepEqual(
    plan.actions.map((a) => [a.kind, a.kind === 'create' ? a.task.task_id : '']),
    [['create', 't2']],
  );
});

test('a cold agent removes nothing; a warm one removes what is not desired', () => {
  const stray = container('c9', 'gone');
  assert.deepEqual(converge(input({ warm: false, containers: [stray] })).actions, []);
  assert.deepEqual(
    converge(input({ desired: [], containers: [stray] })).actions.map((a) => a.kind),
    ['remove'],
  );
});

test('a created but never started container is started, not duplicated', () => {
  const plan = converge(
    input({ desired: [task('t1')], containers: [container('c1', 't1', { state: 'created' })] }),
  );
  assert.deepEqual(
    plan.actions.map((a) => a.kind),
    ['start'],
  );
});

test('duplicates of one task keep the running container', () => {
  const plan = converge(
    input({
      desired: [task('t1')],
      containers: [container('old', 't1', { state: 'exited', exitCode: 0 }), container('live', 't1')],
    }),
  );
  assert.deepEqual(plan.actions, [
    { kind: 'remove', taskId: 't1', service: 'web', containerId: 'old', name: 'web-0' },
  ]);
});

test('busy tasks and containers are left to their operation', () => {
  const plan = converge(
    input({ desired: [task('t1')], containers: [container('c9', 'gone')], busy: new Set(['t1', 'c9']) }),
  );
  assert.deepEqual(plan.actions, []);
});

test('the first exit restarts at once, later ones back off, doubling', () => {
  const exited = container('c1', 't1', { state: 'exited', exitCode: 1 });
  const first = converge(
    input({
      desired: [task('t1')],
      containers: [exited],
      runtime: new Map([['t1', FRESH_RUNTIME]]),
    }),
  );
  assert.deepEqual(
    first.actions.map((a) => a.kind),
    ['replace'],
  );
  assert.equal(first.events[0]?.message, 'Container web-0 exited with code 1');
  assert.equal(first.runtime.get('t1')?.failures, 1);

  // Second failure, noticed now (10 s): the restart waits 1 s from the exit, however long the
  // container took to start and crash.
  const memory: TaskRuntime = {
    ...FRESH_RUNTIME,
    restarts: 1,
    failures: 1,
    lastFailureAt: 2_000,
    countedExit: 'c0',
  };
  const second = converge(
    input({ desired: [task('t1')], containers: [exited], runtime: new Map([['t1', memory]]) }),
  );
  assert.deepEqual(second.actions, []);
  assert.equal(second.wakeAt, 11_000);
  assert.equal(second.runtime.get('t1')?.lastFailureAt, 10_000);
  assert.equal(second.events.length, 1);
  const due = converge(
    input({ desired: [task('t1')], containers: [exited], runtime: second.runtime, now: 11_000 }),
  );
  assert.deepEqual(
    due.actions.map((a) => a.kind),
    ['replace'],
  );
  assert.equal(due.events.length, 0, 'one exit is counted once');
});

test('backoff doubles from the delay up to the cap', () => {
  const policy = spec.restart_policy;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, policy)),
    [0, 1000, 2000, 4000, 8000, 8000, 8000],
  );
});

test('a replica that ran stably has its failures forgotten', () => {
  const memory: TaskRuntime = { ...FRESH_RUNTIME, failures: 4, runningSince: 0 };
  const plan = converge(
    input({
      desired: [task('t1')],
      containers: [container('c1', 't1')],
      runtime: new Map([['t1', memory]]),
      now: 10_000,
    }),
  );
  assert.equal(plan.runtime.get('t1')?.failures, 0);
});

test('restart policies: never, on-failure, max attempts', () => {
  const clean = container('c1', 't1', { state: 'exited', exitCode: 0 });
  const crashed = container('c1', 't1', { state: 'exited', exitCode: 2 });
  const kinds = (t: TaskSpec, c: ManagedContainer, memory = FRESH_RUNTIME) =>
    converge(input({ desired: [t], containers: [c], runtime: new Map([['t1', memory]]) })).actions.map(
      (a) => a.kind,
    );
  assert.deepEqual(
    kinds(task('t1', { restart_policy: { ...spec.restart_policy, condition: 'never' } }), crashed),
    [],
  );
  assert.deepEqual(
    kinds(task('t1', { restart_policy: { ...spec.restart_policy, condition: 'on-failure' } }), clean),
    [],
  );
  assert.deepEqual(
    kinds(task('t1', { restart_policy: { ...spec.restart_policy, condition: 'on-failure' } }), crashed),
    ['replace'],
  );
  const capped = { ...spec.restart_policy, max_attempts: 2 };
  assert.deepEqual(
    kinds(task('t1', { restart_policy: capped }), crashed, { ...FRESH_RUNTIME, restarts: 2 }),
    [],
  );
});

test('a failed create waits out its backoff before retrying', () => {
  const memory: TaskRuntime = {
    ...FRESH_RUNTIME,
    failures: 3,
    lastFailureAt: 9_000,
    lastError: 'pull failed',
  };
  const plan = converge(input({ desired: [task('t1')], runtime: new Map([['t1', memory]]) }));
  assert.deepEqual(plan.actions, []);
  assert.equal(plan.wakeAt, 11_000);
});

test('an unhealthy replica is replaced like a crashed one, counted once', () => {
  const sick = container('c1', 't1');
  const plan = converge(input({ desired: [task('t1')], containers: [sick], unhealthy: new Set(['c1']) }));
  assert.deepEqual(
    plan.actions.map((a) => a.kind),
    ['replace'],
  );
  assert.equal(plan.runtime.get('t1')?.failures, 1);
  const again = converge(
    input({ desired: [task('t1')], containers: [sick], unhealthy: new Set(['c1']), runtime: plan.runtime }),
  );
  assert.equal(again.runtime.get('t1')?.failures, 1);
  const never = task('t1', { restart_policy: { ...spec.restart_policy, condition: 'never' } });
  assert.deepEqual(
    converge(input({ desired: [never], containers: [sick], unhealthy: new Set(['c1']) })).actions,
    [],
  );
});
