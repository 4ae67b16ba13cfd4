import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceView } from '../model/views.ts';
import { replica, serviceView } from './service-view-fixture.ts';
import { POLL_INTERVAL_MS, waitForService } from './wait-for-service.ts';

/**
 * A wait over scripted answers (the last one repeats), on a fake clock that sleeping advances;
 * records the progress shown.
 */
function scriptedWait(answers: ServiceView[], timeoutMs = 120_000) {
  let clock = 0;
  const shown: string[] = [];
  let cleared = 0;
  const wait = waitForService({
    name: 'api-server',
    timeoutMs,
    timeoutText: `${timeoutMs / 1000}s`,
    fetchService: async () => (answers.length > 1 ? answers.shift() : answers[0]) as ServiceView,
    progress: { update: (text) => shown.push(text), clear: () => (cleared += 1) },
    sleep: async (ms) => (clock += ms),
    now: () => clock,
  });
  return { wait, shown, cleared: () => cleared, clock: () => clock };
}

const starting = serviceView({
  running: 2,
  healthy: 2,
  containers: [replica({ slot: 0 }), replica({ slot: 1 }), replica({ slot: 2, status: 'starting' })],
});

test('polls until converged, showing progress, and returns the converged service', async () => {
  const run = scriptedWait([starting, starting, serviceView()]);
  const service = await run.wait;
  assert.equal(service.running, 3);
  assert.deepEqual(run.shown, [
    'waiting for api-server: 2/3 running, 1 starting',
    'waiting for api-server: 2/3 running, 1 starting',
  ]);
  assert.equal(run.clock(), 2 * POLL_INTERVAL_MS);
  assert.equal(run.cleared(), 1);
});

test('a failed service ends the wait with its reason', async () => {
  const run = scriptedWait([
    starting,
    serviceView({ status: 'failed', message: 'exited with code 1 five times' }),
  ]);
  await assert.rejects(run.wait, {
    name: 'ConvergenceError',
    message: 'api-server failed: exited with code 1 five times',
  });
  assert.equal(run.cleared(), 1);
});

test('gives up at the timeout with the server message, or the status without one', async () => {
  const pending = serviceView({
    status: 'pending',
    running: 0,
    healthy: 0,
    message: 'no node fits',
    containers: [],
  });
  await assert.rejects(scriptedWait([pending], 1000).wait, {
    message: 'api-server did not converge within 1s: no node fits',
  });
  const noMessage = { ...starting, status: 'starting' as const };
  const run = scriptedWait([noMessage], 120_000);
  await assert.rejects(run.wait, { message: 'api-server did not converge within 120s: starting' });
  assert.equal(run.clock(), 120_000);
});
