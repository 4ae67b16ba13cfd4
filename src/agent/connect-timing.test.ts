import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTextRecord } from '../log/log-line.ts';
import { connectedLine, readConnectedLine, readStartedLine, startedLine } from './connect-timing.ts';

test('a connect line reads back as written, in the text log format and in JSON', () => {
  const full = { server: '10.231.0.1:8080', tcpMs: 3, tlsMs: 12, resumed: false };
  const resumed = { server: '[::1]:443', tcpMs: 0, tlsMs: 2, resumed: true };
  for (const timing of [full, resumed]) {
    const msg = connectedLine(timing);
    const text = formatTextRecord({
      time: '2026-12-01T23:40:00.123Z',
      level: 'info',
      component: 'agent',
      msg,
    });
    assert.deepEqual(readConnectedLine(text), timing);
    assert.deepEqual(readConnectedLine(JSON.stringify({ level: 'info', msg })), timing);
  }
  assert.match(connectedLine(full), /full handshake/);
  assert.match(connectedLine(resumed), /session resumed/);
});

test('a start line reads back as written; other lines are not taken for either', () => {
  const line = startedLine({ startedMs: 912, modulesMs: 780 }, 'https://10.231.0.1:8080');
  assert.match(line, /^skiff agent started/, 'lab.sh waits for these words');
  assert.deepEqual(readStartedLine(line), { startedMs: 912, modulesMs: 780 });
  assert.equal(readStartedLine('registered as lab-h1'), undefined);
  assert.equal(readConnectedLine(line), undefined);
  assert.equal(readConnectedLine('server connection: connect ECONNREFUSED 10.231.0.1:8080'), undefined);
});
