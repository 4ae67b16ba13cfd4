import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManagedContainer } from '../docker/container-engine.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { container } from './container-fixture.ts';
import type { ConvergeInput, TaskRuntime } from './converger.ts';
import { converge, FRESH_RUNTIME } from './converger.ts';
import { isSpare, SPARE_RETRY_MS, SPARES_AT_ONCE, spareKey, spareName, wantsSpare } from './spares.ts';

function task(id: string, spec: Record<string, unknown> = {}): TaskSpec {
  return {
    task_id: id,
    service: 'web',
    slot: 0,
    revision: 1,
    spec: serviceSpecSchema.parse({ name: 'web', image: 'img', ...spec }),
    networks: [{ name: 'default', index: 0 }],
  };
}

const ofT1 = (id: string, overrides: Partial<ManagedContainer> = {}) => container(id, 't1', overrides);

const spare = (id: string) => ofT1(id, { spare: true, state: 'created', startedAt: null, createdAt: 2 });
const running: TaskRuntime = { ...FRESH_RUNTIME, current: 'c1', runningSince: 5_000 };

function input(overrides: Partial<ConvergeInput>): ConvergeInput {
  return {
    desired: [task('t1')],
    warm: true,
    unhealthy: new Set(),
    containers: [ofT1('c1')],
    runtime: new Map([['t1', running]]),
    outcomes: [],
    busy: new Set(),
    now: 10_000,
    stableAfterMs: 10_000,
    spares: true,
    ...overrides,
  };
}

const kinds = (plan: ReturnType<typeof converge>) =>
  plan.actions.map((a) => `${a.kind} ${a.kind === 'remove' ? a.containerId : a.task.task_id}`);

test('what keeps a spare: a task that restarts and whose container holds nothing a created one would', () => {
  assert.equal(wantsSpare(task('t')), true);
  assert.equal(wantsSpare(task('t', { restart_policy: { condition: 'on-failure' } })), true);
  assert.equal(wantsSpare(task('t', { restart_policy: { condition: 'never' } })), false);
  assert.equal(wantsSpare(task('t', { pull: 'always' })), false);
  assert.equal(
    wantsSpare(task('t', { ports: [{ container_port: 80, host_port: 8080, mode: 'host' }] })),
    false,
  );
  assert.equal(wantsSpare(task('t', { ports: [{ container_port: 80, host_port: 8080 }] })), true, 'ingress');
  assert.equal(
    wantsSpare(task('t', { volumes: [{ type: 'volume', source: 'data', target: '/data' }] })),
    false,
  );
});

test('a spare is one only until it starts; its name never meets a create of the task', () => {
  assert.equal(isSpare(spare('s')), true);
  assert.equal(isSpare({ ...spare('s'), state: 'running' }), false);
  assert.equal(isSpare(ofT1('c', { state: 'created' })), false);
  assert.equal(spareName(task('1f377f806f13abcd'), 3), 'web-0.1f377f806f13.s3');
});

test('a spare is planned for a running task only when the node is idle', () => {
  assert.deepEqual(kinds(converge(input({}))), ['spare t1']);
  const [action] = converge(input({ runtime: new Map([['t1', { ...running, restarts: 2 }]]) })).actions;
  assert.equal(action?.kind === 'spare' ? action.restart : -1, 3, 'named for the next restart');
  assert.deepEqual(kinds(converge(input({ spares: false }))), [], 'not asked for');
  assert.deepEqual(kinds(converge(input({ busy: new Set(['other']) }))), [], 'something in flight');
  assert.deepEqual(kinds(converge(input({ busy: new Set([spareKey('t1')]) }))), [], 'one being made');
  assert.deepEqual(kinds(converge(input({ containers: [ofT1('c1'), spare('s1')] }))), [], 'one there');
  assert.deepEqual(
    kinds(converge(input({ containers: [ofT1('c1', { state: 'created', startedAt: null })] }))),
    ['start t1'],
  );
  assert.deepEqual(
    kinds(converge(input({ desired: [task('t1', { restart_policy: { condition: 'never' } })] }))),
    [],
  );
  const many = converge(
    input({
      desired: [0, 1, 2, 3].map((slot) => ({ ...task(`t${slot}`), slot })),
      containers: [0, 1, 2, 3].map((slot) => ofT1(`c${slot}`, { taskId: `t${slot}`, slot })),
      runtime: new Map([0, 1, 2, 3].map((slot) => [`t${slot}`, { ...running, current: `c${slot}` }])),
    }),
  );
  assert.deepEqual(kinds(many), ['spare t0', 'spare t1'], `${SPARES_AT_ONCE} a pass`);
  // Another task's start in this pass: the spare waits for an idle pass.
  const plan = converge(input({ desired: [task('t1'), { ...task('t2'), slot: 1 }] }));
  assert.deepEqual(kinds(plan), ['create t2']);
});

test('a failed spare is not tried again before SPARE_RETRY_MS', () => {
  const failed = converge(input({ outcomes: [{ kind: 'spare-failed', taskId: 't1', at: 10_000 }] }));
  assert.deepEqual(kinds(failed), []);
  assert.equal(failed.runtime.get('t1')?.spareFailedAt, 10_000);
  assert.equal(failed.runtime.get('t1')?.failures, 0, 'never counted against the task');
  const later = input({ runtime: failed.runtime, now: 10_000 + SPARE_RETRY_MS });
  assert.deepEqual(kinds(converge(later)), ['spare t1']);
});

test('a crash starts the spare instead of creating; the spare is never the task container before', () => {
  const containers = [ofT1('c1', { state: 'exited', exitCode: 137 }), spare('s1')];
  const plan = converge(input({ containers }));
  assert.equal(plan.actions.length, 1);
  const [action] = plan.actions;
  assert.equal(action?.kind, 'replace');
  assert.equal(action?.kind === 'replace' ? action.spareId : undefined, 's1');
  assert.equal(action?.kind === 'replace' ? action.containerId : undefined, 'c1');
  assert.equal(plan.runtime.get('t1')?.restarts, 1);
  // A spare being started (busy) is not taken twice, and a crash then is a plain create-replace.
  const busy = converge(input({ containers, busy: new Set(['s1']) }));
  const [plain] = busy.actions;
  assert.equal(plain?.kind === 'replace' ? plain.spareId : 'none', undefined);
  // Its current container gone behind its back: the spare is started, not a create made.
  assert.deepEqual(kinds(converge(input({ containers: [spare('s1')] }))), ['start t1']);
});

test('one spare is enough, a task that wants none keeps none, and a spare goes with its task', () => {
  const two = converge(input({ containers: [ofT1('c1'), spare('s1'), { ...spare('s2'), createdAt: 3 }] }));
  assert.deepEqual(kinds(two), ['remove s2']);
  const never = converge(
    input({
      desired: [task('t1', { restart_policy: { condition: 'never' } })],
      containers: [ofT1('c1'), spare('s1')],
    }),
  );
  assert.deepEqual(kinds(never), ['remove s1']);
  const gone = converge(input({ desired: [], containers: [ofT1('c1'), spare('s1')] }));
  assert.deepEqual(kinds(gone), ['remove c1', 'remove s1']);
});
