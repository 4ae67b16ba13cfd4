/**
 * A large message to an agent goes in fragments (fragmented-sender.ts) and still arrives as one
 * message, in order with the small ones sent around it, while the agent's pings are answered (a
 * bare gateway on loopback, a raw WebSocket for the agent, its frames counted on the wire).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../../test/support/eventually.ts';
import { FEATURES, PROTOCOL_VERSION } from '../protocol/features.ts';
import { FRAGMENT_BYTES } from './fragmented-sender.ts';
import { hello, openAgent, startGateway } from './gateway-fixture.ts';

/** Text frames (opcode 1) and continuation frames (0) in server-to-client bytes (never masked). */
function countDataFrames(bytes: Buffer): { frames: number; rest: Buffer } {
  let frames = 0;
  let at = 0;
  for (;;) {
    if (bytes.length - at < 2) break;
    const opcode = (bytes[at] ?? 0) & 0x0f;
    let length = (bytes[at + 1] ?? 0) & 0x7f;
    let header = 2;
    if (length === 126) {
      if (bytes.length - at < 4) break;
      length = bytes.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (bytes.length - at < 10) break;
      length = Number(bytes.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (bytes.length - at < header + length) break;
    if (opcode === 0 || opcode === 1) frames++;
    at += header + length;
  }
  return { frames, rest: bytes.subarray(at) };
}

test('a large message goes in fragments and arrives whole, in order, with pings answered meanwhile', async () => {
  const fixture = await startGateway({ nodeName: 'n1' });
  const { socket, received } = await openAgent<{ type?: string; padding?: string }>(fixture.agentUrl);
  let pongs = 0;
  socket.on('pong', () => pongs++);
  try {
    socket.send(
      JSON.stringify(
        hello('n1', {
          cluster_id: null,
          protocol_version: PROTOCOL_VERSION,
          features: [FEATURES.heartbeatInterval, FEATURES.pingHeartbeat],
        }),
      ),
    );
    await eventually('welcomed', () => received.some((m) => m.type === 'welcome'), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
    // Count the data frames the server writes from here on, as they come off the wire.
    let frames = 0;
    let pending = Buffer.alloc(0);
    const raw = (socket as unknown as { _socket: NodeJS.ReadableStream })._socket;
    raw.prependListener('data', (chunk: Buffer) => {
      const counted = countDataFrames(Buffer.concat([pending, chunk]));
      frames += counted.frames;
      pending = Buffer.from(counted.rest);
    });
    const link = fixture.cluster.get('n1')?.link;
    assert.ok(link?.sendSerialised, 'the gateway links send serialised messages');
    const big = { type: 'big', padding: 'é'.repeat(5 * FRAGMENT_BYTES) };
    link.send({ type: 'volumes.remove', names: ['before'] });
    link.sendSerialised(Buffer.from(JSON.stringify(big)));
    link.send({ type: 'volumes.remove', names: ['after'] });
    socket.ping();
    await eventually('all three received', () => received.length >= 4, { timeoutMs: 5000, intervalMs: 10 });
    await eventually('the ping answered', () => pongs >= 1, { timeoutMs: 5000, intervalMs: 10 });
    assert.deepEqual(
      received.slice(1).map((m) => m.type),
      ['volumes.remove', 'big', 'volumes.remove'],
    );
    assert.equal(received[2]?.padding, big.padding);
    const bigBytes = Buffer.byteLength(JSON.stringify(big));
    assert.equal(frames, 2 + Math.ceil(bigBytes / FRAGMENT_BYTES), 'one frame per fragment');
  } finally {
    socket.close();
    await fixture.close();
  }
});
