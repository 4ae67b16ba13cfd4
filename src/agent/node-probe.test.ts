import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { probeNode } from './node-probe.ts';

test('a port that accepts makes the node reachable; a closed one is refused', async () => {
  const open = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => open.listen(0, '127.0.0.1', resolve));
  const openPort = (open.address() as { port: number }).port;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  try {
    assert.deepEqual(await probeNode('127.0.0.1', [closedPort], 500), {
      reachable: false,
      detail: `${closedPort} refused`,
    });
    const both = await probeNode('127.0.0.1', [closedPort, openPort], 500);
    assert.equal(both.reachable, true);
    assert.equal(both.detail, `${closedPort} refused, ${openPort} ok`);
  } finally {
    open.close();
  }
});
