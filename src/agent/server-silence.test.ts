import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BASE_SERVER_SILENCE_MS, livenessAction, serverSilenceMs } from './server-silence.ts';

test('the silence limit is 2 s in small clusters and grows with the heartbeat interval', () => {
  assert.equal(serverSilenceMs(undefined), BASE_SERVER_SILENCE_MS);
  assert.equal(serverSilenceMs(500), 2000);
  assert.equal(serverSilenceMs(1000), 2000);
  assert.equal(serverSilenceMs(4000), 8000, '1,000 nodes');
});

test('the agent pings four times per limit and drops a server silent past it', () => {
  assert.equal(livenessAction(1000, 900, 900, 2000), 'wait');
  assert.equal(livenessAction(1400, 900, 900, 2000), 'ping');
  assert.equal(livenessAction(2900, 900, 2500, 2000), 'wait');
  assert.equal(livenessAction(2901, 900, 2500, 2000), 'drop');
  assert.equal(livenessAction(3000, 900, 1500, 8000), 'wait', 'at 1,000 nodes: one ping per 2 s');
  assert.equal(livenessAction(3500, 900, 1500, 8000), 'ping');
});
