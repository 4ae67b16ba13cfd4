import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { ConnectSilenceError, raceConnect } from './connect-race.ts';

/** A fake attempt: connects or fails only when told; records being destroyed. */
class FakeAttempt extends EventEmitter {
  destroyed = false;
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

function fakes() {
  const made: FakeAttempt[] = [];
  return { made, dial: () => made[made.push(new FakeAttempt()) - 1] as unknown as Socket };
}

test('while no attempt answers, another starts at the pace; the first to connect wins, the rest are dropped', async () => {
  const { made, dial } = fakes();
  const race = raceConnect({ dial, attemptEveryMs: 20, giveUpAfterMs: 5000 });
  await new Promise((done) => setTimeout(done, 75));
  assert.ok(made.length >= 3, `${made.length} attempts after 75 ms at one per 20 ms`);
  made[1]?.emit('connect');
  const winner = await race.socket;
  assert.equal(winner, made[1] as unknown as Socket);
  const count = made.length;
  assert.deepEqual(
    made.map((m) => m.destroyed),
    made.map((m) => m !== made[1]),
  );
  await new Promise((done) => setTimeout(done, 50));
  assert.equal(made.length, count, 'no attempt after the win');
});

test('an error (a refusal) ends the race at once; silence ends it at the deadline', async () => {
  const refused = fakes();
  const race = raceConnect({ dial: refused.dial, attemptEveryMs: 1000, giveUpAfterMs: 5000 });
  refused.made[0]?.emit('error', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
  await assert.rejects(race.socket, /refused/);

  const silent = fakes();
  const started = Date.now();
  const quiet = raceConnect({ dial: silent.dial, attemptEveryMs: 30, giveUpAfterMs: 120 });
  await assert.rejects(quiet.socket, ConnectSilenceError);
  assert.ok(Date.now() - started >= 110);
  assert.ok(silent.made.every((m) => m.destroyed));
});

test('cancel drops every attempt; on real sockets a listener is reached and a closed port refuses', async () => {
  const cancelled = fakes();
  const race = raceConnect({ dial: cancelled.dial, attemptEveryMs: 1000, giveUpAfterMs: 5000 });
  race.cancel();
  await assert.rejects(race.socket);
  assert.ok(cancelled.made.every((m) => m.destroyed));

  const server = createServer((socket) => socket.end());
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  const socket = await raceConnect({
    dial: () => connect({ host: '127.0.0.1', port }),
    attemptEveryMs: 250,
    giveUpAfterMs: 2000,
  }).socket;
  assert.equal(socket.remotePort, port);
  socket.destroy();
  await new Promise((done) => server.close(done));
  await assert.rejects(
    raceConnect({
      dial: () => connect({ host: '127.0.0.1', port }),
      attemptEveryMs: 250,
      giveUpAfterMs: 2000,
    }).socket,
    /ECONNREFUSED/,
  );
});
