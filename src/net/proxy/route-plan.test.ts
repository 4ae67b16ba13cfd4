import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuplicateBackendError, DuplicateRouteError, ListenConflictError } from './errors.ts';
import type { ProxyRoute } from './proxy-route.ts';
import { checkRoutes, listenerId, planRoutes, type RunningRoute } from './route-plan.ts';

function route(key: string, listen: [string, number][], mode: 'http' | 'tcp' = 'http'): ProxyRoute {
  return {
    key,
    mode,
    listen: listen.map(([host, port]) => ({ host, port })),
    backends: [],
    strategy: 'round-robin',
  };
}

test('one address in two routes is a caller bug', () => {
  assert.throws(
    () => checkRoutes([route('a:80', [['10.1.0.2', 80]]), route('b:80', [['10.1.0.2', 80]])]),
    (error: unknown) =>
      error instanceof ListenConflictError && error.routeKeys[0] === 'a:80' && error.routeKeys[1] === 'b:80',
  );
});

test('a wildcard and a specific address on one port conflict; different ports or hosts do not', () => {
  assert.throws(
    () => checkRoutes([route('a:80', [['10.1.0.2', 8080]]), route('b:80', [['0.0.0.0', 8080]])]),
    ListenConflictError,
  );
  assert.throws(
    () => checkRoutes([route('a:80', [['::', 8080]]), route('b:80', [['0.0.0.0', 8080]])]),
    ListenConflictError,
  );
  checkRoutes([
    route('a:80', [['10.1.0.2', 8080]]),
    route('b:80', [
      ['10.1.0.3', 8080],
      ['0.0.0.0', 9090],
    ]),
  ]);
});

test('port 0 never conflicts across routes, but one route cannot list an address twice', () => {
  checkRoutes([route('a:80', [['127.0.0.1', 0]]), route('b:80', [['127.0.0.1', 0]])]);
  assert.throws(
    () =>
      checkRoutes([
        route('a:80', [
          ['127.0.0.1', 0],
          ['127.0.0.1', 0],
        ]),
      ]),
    ListenConflictError,
  );
});

test('a key twice is a caller bug', () => {
  assert.throws(() => checkRoutes([route('a:80', []), route('a:80', [])]), DuplicateRouteError);
});

test('the plan adds new routes, removes gone ones and diffs listeners of the rest', () => {
  const running = new Map<string, RunningRoute>([
    ['keep:80', { mode: 'http', listenerIds: new Set(['10.1.0.2|80', '10.1.0.3|80']) }],
    ['gone:80', { mode: 'tcp', listenerIds: new Set(['10.1.0.4|80']) }],
  ]);
  const plan = planRoutes(running, [
    route('keep:80', [
      ['10.1.0.2', 80],
      ['10.1.0.5', 80],
    ]),
    route('new:90', [['10.1.0.6', 90]]),
  ]);
  assert.deepEqual(plan.remove, ['gone:80']);
  assert.deepEqual(
    plan.add.map((r) => r.key),
    ['new:90'],
  );
  assert.equal(plan.update.length, 1);
  assert.deepEqual(plan.update[0]?.close, ['10.1.0.3|80']);
  assert.deepEqual(plan.update[0]?.open, [{ host: '10.1.0.5', port: 80 }]);
});

test('the same table twice plans no listener change', () => {
  const table = [route('a:80', [['10.1.0.2', 80]])];
  const running = new Map<string, RunningRoute>([
    ['a:80', { mode: 'http', listenerIds: new Set([listenerId({ host: '10.1.0.2', port: 80 })]) }],
  ]);
  const plan = planRoutes(running, table);
  assert.deepEqual(plan.remove, []);
  assert.deepEqual(plan.add, []);
  assert.deepEqual(plan.update[0]?.close, []);
  assert.deepEqual(plan.update[0]?.open, []);
});

test('a mode change replaces the route', () => {
  const running = new Map<string, RunningRoute>([
    ['a:80', { mode: 'http', listenerIds: new Set(['10.1.0.2|80']) }],
  ]);
  const plan = planRoutes(running, [route('a:80', [['10.1.0.2', 80]], 'tcp')]);
  assert.deepEqual(plan.remove, ['a:80']);
  assert.deepEqual(
    plan.add.map((r) => r.key),
    ['a:80'],
  );
  assert.deepEqual(plan.update, []);
});

test('a backend id twice in one route is a caller bug', () => {
  const twice: ProxyRoute = {
    ...route('a:80', []),
    backends: [
      { id: 'r1', host: '10.1.0.2', port: 80 },
      { id: 'r1', host: '10.1.0.3', port: 80 },
    ],
  };
  assert.throws(() => checkRoutes([twice]), DuplicateBackendError);
});
