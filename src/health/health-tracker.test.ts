import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HealthState, ProbeResult } from './health-tracker.ts';
import { INITIAL_HEALTH, trackHealth } from './health-tracker.ts';

const pass: ProbeResult = { ok: true, message: 'HTTP 200' };
const fail: ProbeResult = { ok: false, message: 'HTTP 503' };
const settings = { retries: 3, startPeriodMs: 5000 };

function run(results: ProbeResult[], times: number[], start = INITIAL_HEALTH) {
  let state: HealthState = start;
  const transitions: (string | null)[] = [];
  results.forEach((result, i) => {
    const tracked = trackHealth(state, result, settings, 0, times[i] ?? 10_000);
    state = tracked.state;
    transitions.push(tracked.transition);
  });
  return { state, transitions };
}

test('the first pass makes a starting replica healthy', () => {
  const { state, transitions } = run([pass], [100]);
  assert.equal(state.status, 'healthy');
  assert.deepEqual(transitions, ['healthy']);
});

test('retries failures in a row make it unhealthy, once', () => {
  const healthy = run([pass], [100]).state;
  const { state, transitions } = run([fail, fail, fail, fail], [6000, 7000, 8000, 9000], healthy);
  assert.equal(state.status, 'unhealthy');
  assert.deepEqual(transitions, [null, null, 'unhealthy', null]);
});

test('a pass in between resets the count', () => {
  const healthy = run([pass], [100]).state;
  const { state } = run([fail, fail, pass, fail, fail], [6000, 7000, 8000, 9000, 10_000], healthy);
  assert.equal(state.status, 'healthy');
  assert.equal(state.failures, 2);
});

test('failures inside the start period do not count before the first pass', () => {
  const { state, transitions } = run([fail, fail, fail, fail], [1000, 2000, 3000, 4000]);
  assert.equal(state.status, 'starting');
  assert.equal(state.failures, 0);
  assert.deepEqual(transitions, [null, null, null, null]);
  const after = run([fail, fail, fail], [6000, 7000, 8000], state);
  assert.equal(after.state.status, 'unhealthy');
});

test('an unhealthy replica that passes again is healthy', () => {
  const unhealthy: HealthState = { status: 'unhealthy', failures: 3, lastMessage: 'x', healthySince: null };
  assert.equal(trackHealth(unhealthy, pass, settings, 0, 20_000).transition, 'healthy');
});

test('healthy since the first pass of the current healthy streak', () => {
  const first = trackHealth(INITIAL_HEALTH, pass, settings, 0, 1000).state;
  assert.equal(first.healthySince, 1000);
  const still = trackHealth(first, pass, settings, 0, 2000).state;
  assert.equal(still.healthySince, 1000);
  const wobble = trackHealth(still, fail, settings, 0, 7000).state;
  assert.equal(wobble.healthySince, 1000, 'one failure below retries keeps it healthy');
  const down = run([fail, fail, fail], [8000, 9000, 10_000], still).state;
  assert.equal(down.healthySince, null);
});
