import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskObservation } from '../model/task.ts';
import type { StoredService, StoredTask } from '../store/store.ts';
import type { Invariants } from './invariants.ts';
import { checkInvariants, convergence } from './invariants.ts';

const service: StoredService = {
  spec: serviceSpecSchema.parse({ name: 'web', image: 'sim:v1', replicas: 2 }),
  revision: 1,
  createdAt: 0,
  updatedAt: 0,
  rollout: null,
};

const running: TaskObservation = {
  task_id: '',
  state: 'running',
  container_id: 'c',
  health: 'none',
  message: null,
  exit_code: null,
  restart_count: 0,
  ports: [],
  retry_at: null,
  ready_since: 1,
  ip: null,
};

function task(id: string, slot: number, overrides: Partial<StoredTask> = {}): StoredTask {
  return {
    id,
    service: 'web',
    slot,
    revision: 1,
    nodeId: 'n1',
    desiredState: 'running',
    pendingReason: null,
    createdAt: 0,
    observed: { ...running, task_id: id },
    ...overrides,
  };
}

function state(tasks: StoredTask[], overrides: Partial<Invariants> = {}): Invariants {
  return {
    now: 0,
    services: [service],
    tasks,
    nodes: [
      { id: 'n1', status: 'ready' },
      { id: 'n2', status: 'down' },
    ],
    engines: [
      {
        node: 'n1',
        reachable: true,
        containers: tasks.map((t) => ({
          id: `c-${t.id}`,
          name: `web-${t.slot}.${t.id}`,
          taskId: t.id,
          service: 'web',
          slot: t.slot,
          state: 'running' as const,
          exitCode: null,
        })),
      },
    ],
    ...overrides,
  };
}

test('a settled service breaks nothing and has converged', () => {
  const input = state([task('a', 0), task('b', 1)]);
  assert.deepEqual(checkInvariants(input), []);
  assert.equal(convergence(input), null);
});

test('two tasks of one revision in a slot, and more than replicas + surge, are violations', () => {
  const violations = checkInvariants(
    state([task('a', 0), task('b', 0), task('c', 1), task('d', 1, { revision: 2 })]),
  );
  assert.ok(violations.some((v) => v.includes('slot web/0 has two tasks of one revision')));
  assert.ok(violations.some((v) => v.includes('service web has 4 tasks meant to run, more than 3')));
});

test('a replica on a down node counted as running is a violation; written off, it is not', () => {
  const counted = checkInvariants(state([task('a', 0, { nodeId: 'n2' })]));
  assert.ok(counted.some((v) => v.includes('on down node n2 is counted as running')));
  assert.deepEqual(
    checkInvariants(state([task('a', 0, { nodeId: 'n2', desiredState: 'shutdown', observed: null })])),
    [],
  );
});

test('a task meant to run on a node the server does not know is lost', () => {
  assert.ok(
    checkInvariants(state([task('a', 0, { nodeId: 'ghost' })])).some((v) => v.includes('does not know')),
  );
});

test('three containers of one slot on reachable nodes are too many', () => {
  const input = state([task('a', 0)]);
  const [engine] = input.engines;
  assert.ok(engine);
  const copies = [0, 1, 2].map(
    (i) => ({ ...engine.containers[0], id: `x${i}` }) as (typeof engine.containers)[0],
  );
  const violations = checkInvariants({ ...input, engines: [{ ...engine, containers: copies }] });
  assert.ok(violations.some((v) => v.includes('slot web/0 runs in 3 containers')));
});

test('convergence names what is missing: a slot with no task, a report the engine does not back, a stray', () => {
  assert.match(convergence(state([task('a', 0)])) ?? '', /web-1 has no task meant to run/);
  const unbacked = state([task('a', 0), task('b', 1)]);
  const [engine] = unbacked.engines;
  assert.ok(engine);
  assert.match(
    convergence({ ...unbacked, engines: [{ ...engine, containers: engine.containers.slice(0, 1) }] }) ?? '',
    /web-1 is reported running on n1, whose engine does not run it/,
  );
  const stray = state([task('a', 0), task('b', 1)]);
  const [strayEngine] = stray.engines;
  assert.ok(strayEngine);
  const extra = {
    ...strayEngine.containers[0],
    id: 'old',
    taskId: 'gone',
    name: 'web-0.gone',
  } as (typeof strayEngine.containers)[0];
  assert.match(
    convergence({
      ...stray,
      engines: [{ ...strayEngine, containers: [...strayEngine.containers, extra] }],
    }) ?? '',
    /n1 still runs web-0.gone, which no service wants/,
  );
});
