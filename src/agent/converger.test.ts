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
    createdAt: 1,
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
    outcomes: [],
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

test('held starts (a restarted agent before the server answers): what runs is kept, nothing is made or started', () => {
  const desired = [task('live'), task('crashed'), task('missing'), task('made')];
  const containers = [
    container('c1', 'live'),
    container('c2', 'crashed', { state: 'exited', exitCode: 137 }),
    container('c3', 'made', { state: 'created' }),
    container('c4', 'live', { state: 'exited', exitCode: 0, createdAt: 0 }),
  ];
  const held = converge(input({ warm: false, desired, containers, startsHeldUntil: 13_000 }));
  assert.deepEqual(
    held.actions.map((a) => `${a.kind} ${a.kind === 'remove' ? a.containerId : a.task.task_id}`),
    ['remove c4'],
    'only a predecessor of a running replica goes',
  );
  assert.equal(held.wakeAt, 13_000, 'the loop looks again when the hold ends');
  assert.equal(held.runtime.get('live')?.current, 'c1', 'the running replica is adopted');
  assert.equal(held.runtime.get('crashed')?.failures, 1, 'the exit is counted, once');
  assert.equal(held.runtime.get('crashed')?.restarts, 0, 'no restart yet');
  assert.deepEqual(
    held.events.map((e) => e.message),
    ['Container web-0 (c2) exited with code 137'],
  );

  // The hold ended (the server stayed away): the saved assignment is worked on as before.
  const free = converge(
    input({ warm: false, desired, containers, runtime: held.runtime, now: 13_000, startsHeldUntil: 13_000 }),
  );
  assert.deepEqual(
    free.actions.map((a) => `${a.kind} ${a.kind === 'remove' ? a.containerId : a.task.task_id}`),
    ['remove c4', 'replace crashed', 'create missing', 'start made'],
  );
  assert.equal(free.events.length, 0, 'the exit is not counted again');
  assert.equal(free.runtime.get('crashed')?.restarts, 1);
});

test('a hold that has passed, or none, changes nothing', () => {
  const desired = [task('t1')];
  const plain = converge(input({ desired }));
  assert.deepEqual(converge(input({ desired, startsHeldUntil: 10_000 })), plain);
  assert.deepEqual(converge(input({ desired, startsHeldUntil: undefined })), plain);
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
  assert.equal(first.events[0]?.message, 'Container web-0 (c1) exited with code 1');
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

/**
 * The churn of issue 8: an image whose PID 1 ignores SIGTERM, one failed health check. The old
 * container dies (SIGKILL, 137) only after its replacement runs healthy; its death must not count
 * against the task, the replacement must never be taken for an extra, and the slot settles at one
 * restart. Each step is one pass, threading the memory the way the loop does.
 */
test('SIGTERM-ignoring sequence: the old container dies after its healthy replacement, and the slot settles', () => {
  const t1 = task('t1');
  const actionsOf = (plan: ReturnType<typeof converge>) =>
    plan.actions.map((a) => `${a.kind} ${a.kind === 'create' ? a.task.task_id : a.containerId}`);
  let runtime: Map<string, TaskRuntime> = new Map([['t1', { ...FRESH_RUNTIME, current: 'old' }]]);
  let now = 10_000;
  const pass = (overrides: Partial<ConvergeInput>) => {
    const plan = converge(input({ desired: [t1], runtime, now, ...overrides }));
    runtime = plan.runtime;
    now += 500;
    return plan;
  };
  const old = container('old', 't1', { createdAt: 1_000 });

  // The health check fails: replace, one restart.
  const sick = pass({ containers: [old], unhealthy: new Set(['old']) });
  assert.deepEqual(actionsOf(sick), ['replace old']);
  const replace = sick.actions[0];
  assert.equal(replace?.kind === 'replace' && replace.attempt, 1, 'the replacement gets a name of its own');
  assert.equal(runtime.get('t1')?.restarts, 1);

  // While the replace runs, the new container shows up created, then running: it is never an extra.
  const busy = new Set(['t1', 'old']);
  const fresh = container('new', 't1', { state: 'created', createdAt: 9_000 });
  assert.deepEqual(actionsOf(pass({ containers: [old, fresh], unhealthy: new Set(['old']), busy })), []);
  const running = { ...fresh, state: 'running' as const };
  assert.deepEqual(actionsOf(pass({ containers: [old, running], unhealthy: new Set(['old']), busy })), []);

  // The replace is done; the old one is still stopping (its grace period: PID 1 ignores SIGTERM).
  const done = pass({
    containers: [old, running],
    busy: new Set(['old']),
    outcomes: [{ kind: 'ran', taskId: 't1', containerId: 'new' }],
  });
  assert.deepEqual(actionsOf(done), []);
  assert.equal(runtime.get('t1')?.current, 'new');

  // SIGKILL at the end of the grace period: exit 137 of the old container, the new one healthy.
  const killed = { ...old, state: 'exited' as const, exitCode: 137 };
  const afterDeath = pass({ containers: [killed, running] });
  assert.deepEqual(actionsOf(afterDeath), ['remove old'], 'the dead predecessor is only cleaned up');
  assert.deepEqual(afterDeath.events, [], 'its death is no event of the task');
  assert.equal(runtime.get('t1')?.failures, 1, 'only the health failure counted');

  // And then nothing, pass after pass, for 30 s.
  const settledUntil = now + 30_000;
  while (now < settledUntil) {
    const plan = pass({ containers: [running] });
    assert.deepEqual(actionsOf(plan), [], `at ${now} ms`);
  }
  assert.equal(runtime.get('t1')?.restarts, 1);
  assert.equal(runtime.get('t1')?.current, 'new');
  assert.equal(runtime.get('t1')?.failures, 0, 'stable for longer than stableAfterMs');
});

test('a death counts only against the container that died', () => {
  // The current container runs; a predecessor of the task dies (a stop, a kill): nothing to do.
  const runtime = new Map([['t1', { ...FRESH_RUNTIME, current: 'new', restarts: 1 }]]);
  const plan = converge(
    input({
      desired: [task('t1')],
      runtime,
      containers: [
        container('old', 't1', { state: 'exited', exitCode: 137, createdAt: 5 }),
        container('new', 't1', { createdAt: 1 }),
      ],
      busy: new Set(['old']),
    }),
  );
  assert.deepEqual(plan.actions, []);
  assert.deepEqual(plan.events, []);
  assert.equal(plan.runtime.get('t1')?.restarts, 1);
  assert.equal(plan.runtime.get('t1')?.failures, 0);

  // The current one dies: that counts, and it is replaced.
  const died = converge(
    input({
      desired: [task('t1')],
      runtime,
      containers: [container('new', 't1', { state: 'exited', exitCode: 137 })],
    }),
  );
  assert.deepEqual(
    died.actions.map((a) => a.kind),
    ['replace'],
  );
  assert.equal(died.events[0]?.message, 'Container web-0 (new) exited with code 137');
});

test('a list made before the replacement was created does not lose it', () => {
  // The outcome names a container the (older) list does not show yet: keep it, do nothing.
  const runtime = new Map([['t1', { ...FRESH_RUNTIME, current: 'old', restarts: 1, countedExit: 'old' }]]);
  const plan = converge(
    input({
      desired: [task('t1')],
      runtime,
      containers: [container('old', 't1', { state: 'exited', exitCode: 137 })],
      outcomes: [{ kind: 'ran', taskId: 't1', containerId: 'new' }],
      busy: new Set(['t1', 'old']),
    }),
  );
  assert.deepEqual(plan.actions, []);
  assert.equal(plan.runtime.get('t1')?.current, 'new');
});

test('a fresh agent adopts the newest live container of a task and removes the rest', () => {
  const plan = converge(
    input({
      desired: [task('t1')],
      containers: [
        container('older', 't1', { createdAt: 1_000 }),
        container('newer', 't1', { createdAt: 2_000 }),
        container('dead', 't1', { state: 'exited', exitCode: 0, createdAt: 3_000 }),
      ],
    }),
  );
  assert.deepEqual(plan.actions.map((a) => (a.kind === 'remove' ? a.containerId : a.kind)).sort(), [
    'dead',
    'older',
  ]);
  assert.equal(plan.runtime.get('t1')?.current, 'newer');
});

test('outcomes: a failure backs off, a name conflict adopts what the engine has', () => {
  // A second failure in a row: 1 s of backoff from when it failed.
  const failed = converge(
    input({
      desired: [task('t1')],
      runtime: new Map([['t1', { ...FRESH_RUNTIME, failures: 1 }]]),
      outcomes: [{ kind: 'failed', taskId: 't1', error: 'pull failed', at: 9_500 }],
    }),
  );
  assert.deepEqual(failed.actions, []);
  assert.equal(failed.wakeAt, 10_500);
  assert.equal(failed.runtime.get('t1')?.lastError, 'pull failed');
  assert.equal(failed.runtime.get('t1')?.failures, 2);

  const runtime = new Map([['t1', { ...FRESH_RUNTIME, current: 'gone', restarts: 2 }]]);
  const conflict = converge(
    input({
      desired: [task('t1')],
      runtime,
      containers: [container('named', 't1', { state: 'created' })],
      outcomes: [{ kind: 'conflict', taskId: 't1' }],
    }),
  );
  assert.deepEqual(
    conflict.actions.map((a) => a.kind),
    ['start'],
  );
  assert.equal(conflict.runtime.get('t1')?.current, 'named');
});

test('an OOM kill the engine reports after the death corrects the exit once, without counting it again', () => {
  const never = task('t1', { restart_policy: { ...task('t1').spec.restart_policy, condition: 'never' } });
  const died = converge(
    input({
      desired: [never],
      containers: [container('c1', 't1', { state: 'exited', exitCode: 137 })],
      runtime: new Map([['t1', FRESH_RUNTIME]]),
    }),
  );
  assert.equal(died.events[0]?.message, 'Container web-0 (c1) exited with code 137');
  const oom = container('c1', 't1', { state: 'exited', exitCode: 137, oomKilled: true });
  const corrected = converge(input({ desired: [never], containers: [oom], runtime: died.runtime }));
  assert.deepEqual(
    corrected.events.map((e) => e.message),
    ['Container web-0 (c1) was killed: out of memory (OOM)'],
  );
  assert.equal(corrected.runtime.get('t1')?.failures, 1, 'one exit, counted once');
  assert.deepEqual(corrected.runtime.get('t1')?.lastExit, { code: 137, oomKilled: true });
  const again = converge(input({ desired: [never], containers: [oom], runtime: corrected.runtime }));
  assert.deepEqual(again.events, []);
});

test('a single-writer volume waits for the other container that has it; a shared one does not', () => {
  const volumes = [{ type: 'volume' as const, source: 'data-{{.Task.Slot}}', target: '/d' }];
  const successor = task('t2', { volumes });
  const predecessor = container('c1', 't1', {
    state: 'running',
    volumes: [{ name: 'data-0', shared: false }],
  });
  const held = converge(input({ desired: [successor], containers: [predecessor] }));
  assert.deepEqual(
    held.actions.map((a) => a.kind),
    ['remove'],
    'the predecessor is removed, nothing created',
  );
  assert.match(
    held.waiting.get('t2') ?? '',
    /^waiting for volume data-0: Container web-0 \(c1\) still has it$/,
  );
  const exited = converge(input({ desired: [successor], containers: [{ ...predecessor, state: 'exited' }] }));
  assert.ok(
    exited.actions.some((a) => a.kind === 'create'),
    'an exited container writes nothing',
  );
  const shared = task('t2', { volumes: [{ ...volumes[0], shared: true } as (typeof volumes)[0]] });
  const both = converge(input({ desired: [shared], containers: [predecessor] }));
  assert.ok(
    both.actions.some((a) => a.kind === 'create'),
    'a shared volume is mounted by both',
  );
  assert.equal(both.waiting.size, 0);
});
