import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TCP_MESSAGE_BYTES, TcpFrameReader, tcpFrame } from './tcp-framing.ts';

const one = Buffer.from('first message');
const two = Buffer.from('second');

test('whole frames in one chunk come out as messages, in order', () => {
  const reader = new TcpFrameReader();
  const read = reader.push(Buffer.concat([tcpFrame(one), tcpFrame(two)]));
  assert.deepEqual(read, { kind: 'messages', messages: [one, two] });
  assert.equal(reader.pendingBytes, 0);
});

test('a frame split at every byte, prefix included, comes out once it is whole', () => {
  const reader = new TcpFrameReader();
  const bytes = Buffer.concat([tcpFrame(one), tcpFrame(two)]);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 1) {
    const read = reader.push(bytes.subarray(i, i + 1));
    assert.equal(read.kind, 'messages');
    if (read.kind === 'messages') out.push(...read.messages);
  }
  assert.deepEqual(out, [one, two]);
  assert.equal(reader.pendingBytes, 0);
});

test('an incomplete frame is held, not returned', () => {
  const reader = new TcpFrameReader();
  const framed = tcpFrame(one);
  assert.deepEqual(reader.push(framed.subarray(0, 5)), { kind: 'messages', messages: [] });
  assert.equal(reader.pendingBytes, 5);
  assert.deepEqual(reader.push(framed.subarray(5)), { kind: 'messages', messages: [one] });
});

test('a zero-length frame is invalid', () => {
  const read = new TcpFrameReader().push(Buffer.from([0, 0, 1, 2]));
  assert.equal(read.kind, 'invalid');
});

test('the largest message frames; one byte more is refused', () => {
  assert.equal(tcpFrame(Buffer.alloc(MAX_TCP_MESSAGE_BYTES)).length, MAX_TCP_MESSAGE_BYTES + 2);
  assert.throws(() => tcpFrame(Buffer.alloc(MAX_TCP_MESSAGE_BYTES + 1)), RangeError);
});
