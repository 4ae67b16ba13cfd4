/**
 * The fragmented sender: a small message goes at once; a large one goes as fragments of at most
 * the fragment size, one write pending at a time, views of the message's buffer; later messages
 * wait behind it in order; what is queued counts as unsent; a failed write drops what waits; the
 * shared budget spreads fragments over turns. And over a real WebSocket (ws), a fragmented
 * message, with multi-byte characters split between fragments, arrives whole.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { eventually } from '../../test/support/eventually.ts';
import type { FrameSocket } from './fragmented-sender.ts';
import { FragmentedSender, WriteBudget } from './fragmented-sender.ts';

const turn = () => new Promise((resolve) => setImmediate(resolve));

interface Frame {
  readonly data: Buffer | string;
  readonly fin: boolean;
  /** Writes pending when this one was made (the sender allows one for fragments). */
  readonly pending: number;
}

/** A socket whose writes complete a turn later (as TLS writes do), recording frames. */
function fakeSocket(options: { fail?: boolean } = {}): FrameSocket & { frames: Frame[]; pending: number } {
  const socket = {
    frames: [] as Frame[],
    pending: 0,
    bufferedAmount: 0,
    send(data: Buffer | string, opts: { binary: boolean; fin: boolean }, cb: (error?: Error) => void) {
      assert.equal(opts.binary, false);
      socket.frames.push({ data, fin: opts.fin, pending: socket.pending });
      socket.pending++;
      setImmediate(() => {
        socket.pending--;
        cb(options.fail ? new Error('closed') : undefined);
      });
    },
  };
  return socket;
}

/** The messages the frames make, each fragment's bytes joined up to its `fin`. */
function messages(frames: readonly Frame[]): string[] {
  const out: string[] = [];
  let parts: Buffer[] = [];
  for (const frame of frames) {
    parts.push(Buffer.isBuffer(frame.data) ? frame.data : Buffer.from(frame.data));
    if (frame.fin) {
      out.push(Buffer.concat(parts).toString());
      parts = [];
    }
  }
  assert.equal(parts.length, 0, 'a message was left unfinished');
  return out;
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !done(); i++) await turn();
  assert.ok(done(), `never: ${what}`);
}

test('a small message goes at once, in one frame', () => {
  const socket = fakeSocket();
  const sender = new FragmentedSender(socket, { fragmentBytes: 100 });
  sender.send('{"type":"heartbeat"}');
  sender.send(Buffer.from('{"type":"x"}'));
  assert.deepEqual(
    socket.frames.map((f) => [String(f.data), f.fin]),
    [
      ['{"type":"heartbeat"}', true],
      ['{"type":"x"}', true],
    ],
  );
});

test('a large message goes as fragments, one write pending at a time, views of its buffer', async () => {
  const socket = fakeSocket();
  const sender = new FragmentedSender(socket, { fragmentBytes: 100 });
  const big = Buffer.from(JSON.stringify({ services: 'x'.repeat(1000) }));
  sender.send(big);
  // The first fragment goes at once; the rest only after each write completed.
  assert.equal(socket.frames.length, 1);
  assert.ok(sender.bufferedBytes >= big.length - 100);
  await until('every fragment written', () => socket.frames.at(-1)?.fin === true);
  assert.equal(Math.ceil(big.length / 100), socket.frames.length);
  for (const frame of socket.frames) {
    assert.ok(Buffer.isBuffer(frame.data) && frame.data.length <= 100);
    assert.equal(frame.pending, 0, 'a fragment was written while another was pending');
    assert.equal((frame.data as Buffer).buffer, big.buffer, 'a fragment was copied');
  }
  assert.deepEqual(messages(socket.frames), [big.toString()]);
  await until('nothing pending', () => socket.pending === 0);
  assert.equal(sender.bufferedBytes, 0);
});

test('messages sent meanwhile wait behind a fragmented one, in order, never interleaved', async () => {
  const socket = fakeSocket();
  const sender = new FragmentedSender(socket, { fragmentBytes: 64 });
  const first = JSON.stringify({ a: 'é'.repeat(200) });
  const second = JSON.stringify({ b: 1 });
  const third = JSON.stringify({ c: 'z'.repeat(300) });
  sender.send(first);
  sender.send(second);
  sender.send(Buffer.from(third));
  const fourth = JSON.stringify({ d: 2 });
  await until('the third message started', () => socket.frames.length > 12);
  sender.send(fourth);
  await until('all four sent', () => socket.frames.filter((f) => f.fin).length === 4);
  assert.deepEqual(messages(socket.frames), [first, second, third, fourth]);
  for (const frame of socket.frames) assert.ok(Buffer.byteLength(frame.data) <= 64);
});

test('a failed write drops what waits', async () => {
  const socket = fakeSocket({ fail: true });
  const sender = new FragmentedSender(socket, { fragmentBytes: 10 });
  sender.send('x'.repeat(100));
  sender.send('y'.repeat(100));
  await until('the failure seen', () => sender.bufferedBytes === 0);
  await turn();
  assert.equal(socket.frames.length, 1);
  sender.send('z'.repeat(100));
  await turn();
  assert.equal(socket.frames.length, 1, 'a message was queued after the failure');
});

test('the shared budget spreads fragments of many connections over turns', async () => {
  const budget = new WriteBudget(100);
  const sockets = [fakeSocket(), fakeSocket(), fakeSocket()];
  const senders = sockets.map((s) => new FragmentedSender(s, { fragmentBytes: 100, budget }));
  for (const sender of senders) sender.send('m'.repeat(1000));
  // 3 × 100 bytes asked at once against 100 a turn: the second and third wait for later turns.
  assert.deepEqual(
    sockets.map((s) => s.frames.length),
    [1, 0, 0],
  );
  let turns = 0;
  while (!sockets.every((s) => s.frames.at(-1)?.fin)) {
    await turn();
    turns++;
    assert.ok(turns < 1000, 'the fragments never all went');
  }
  // 3,000 bytes at 100 a turn: 30 turns (unbudgeted, each connection's 10 fragments would take 10).
  assert.ok(turns >= 25, `3,000 bytes went in ${turns} turns against a budget of 100 a turn`);
  for (const socket of sockets) assert.deepEqual(messages(socket.frames), ['m'.repeat(1000)]);
});

test('over a real WebSocket, a fragmented message with split characters arrives whole', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  const received: string[] = [];
  client.on('message', (data, isBinary) => {
    assert.equal(isBinary, false);
    received.push(String(data));
  });
  const [server] = (await once(wss, 'connection')) as [WebSocket];
  if (client.readyState !== WebSocket.OPEN) await once(client, 'open');
  try {
    const sender = new FragmentedSender(server, { fragmentBytes: 1000 });
    // 3-byte characters at a 1,000-byte fragment size: every fragment ends inside one.
    const big = JSON.stringify({ text: '€'.repeat(5000) });
    sender.send(Buffer.from(big));
    sender.send(JSON.stringify({ after: true }));
    await eventually('both messages received', () => received.length === 2, {
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    assert.deepEqual(received, [big, '{"after":true}']);
  } finally {
    client.close();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  }
});
