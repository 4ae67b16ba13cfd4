import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { eventually } from '../../test/support/eventually.ts';
import {
  BASE_SERVER_SILENCE_MS,
  livenessAction,
  ServerBeat,
  serverSilence,
  serverSilenceMs,
  UNWELCOMED_SILENCE,
} from './server-silence.ts';

test('the silence limit is 2 s in small clusters and grows with the heartbeat interval', () => {
  assert.equal(serverSilenceMs(undefined), BASE_SERVER_SILENCE_MS);
  assert.equal(serverSilenceMs(500), 2000);
  assert.equal(serverSilenceMs(1000), 2000);
  assert.equal(serverSilenceMs(4000), 8000, '1,000 nodes');
  assert.deepEqual(UNWELCOMED_SILENCE, { silenceMs: 2000, pingEveryMs: 500 });
});

test('the agent pings four times per limit and drops a server silent past it', () => {
  const small = serverSilence(500, 'heartbeats');
  const large = serverSilence(4000, 'heartbeats');
  assert.equal(livenessAction(1000, 900, 900, small), 'wait');
  assert.equal(livenessAction(1400, 900, 900, small), 'ping');
  assert.equal(livenessAction(2900, 900, 2500, small), 'wait');
  assert.equal(livenessAction(2901, 900, 2500, small), 'drop');
  assert.equal(livenessAction(3000, 900, 1500, large), 'wait', 'at 1,000 nodes: one ping per 2 s');
  assert.equal(livenessAction(3500, 900, 1500, large), 'ping');
});

test('when the pings are the beats: the liveness timer never pings, and the server has three intervals', () => {
  assert.deepEqual(serverSilence(500, 'pings'), { silenceMs: 2000, pingEveryMs: undefined });
  assert.deepEqual(serverSilence(1000, 'pings'), { silenceMs: 3000, pingEveryMs: undefined });
  const large = serverSilence(4000, 'pings');
  assert.equal(large.silenceMs, 12_000, '1,000 nodes: as long as the server waits for a beat');
  assert.equal(livenessAction(100_000, 99_000, 0, large), 'wait', 'the beats ping, not this timer');
  assert.equal(livenessAction(111_000, 99_000, 0, large), 'wait');
  assert.equal(livenessAction(111_001, 99_000, 0, large), 'drop');
});

test('ServerBeat: heartbeat messages until the welcome says pings, then pings; none before the handshake', async () => {
  const socket = {
    readyState: WebSocket.CONNECTING as number,
    pings: 0,
    ping() {
      this.pings++;
    },
  };
  let heartbeats = 0;
  const beat = new ServerBeat(
    () => socket,
    () => heartbeats++,
  );
  try {
    assert.deepEqual(beat.silence, UNWELCOMED_SILENCE);
    beat.ping(socket);
    assert.equal(socket.pings, 0, 'ws throws on a ping before the handshake');
    socket.readyState = WebSocket.OPEN;
    beat.welcomed(10, 'heartbeats');
    await eventually('two heartbeat messages', () => heartbeats >= 2, { intervalMs: 5, timeoutMs: 5000 });
    assert.equal(socket.pings, 0);
    assert.deepEqual(beat.silence, serverSilence(10, 'heartbeats'));
    assert.equal(beat.action(Date.now(), Date.now()), 'ping', 'never pinged on this connection');
    beat.reset();
    beat.welcomed(10, 'pings');
    const sent = heartbeats;
    await eventually('two beats as pings', () => socket.pings >= 2, { intervalMs: 5, timeoutMs: 5000 });
    assert.equal(heartbeats, sent, 'no heartbeat message once the pings are the beats');
    assert.equal(beat.action(Date.now(), Date.now()), 'wait', 'the beats ping, not the liveness timer');
    beat.beatEvery(4000);
    assert.equal(beat.silence.silenceMs, 12_000, 'a later heartbeat.interval keeps the way');
    beat.reset();
    assert.deepEqual(beat.silence, UNWELCOMED_SILENCE);
  } finally {
    beat.stop();
  }
});
