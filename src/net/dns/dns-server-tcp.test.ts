import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { type DecodedPacket, decode } from 'dns-packet';
import type { ServiceRegistry } from './dns-answer.ts';
import { DnsServer } from './dns-server.ts';
import { queryBytes, TestClient } from './dns-test-fixture.ts';
import type { Endpoint } from './endpoint.ts';
import { TcpFrameReader, tcpFrame } from './tcp-framing.ts';

const REPLICAS = 60;
const DEADLINE_MS = 3000;

/** One service, `big`, whose SRV set (60 long-named targets) cannot fit a UDP reply. */
const bigRegistry: ServiceRegistry = {
  vipFor: (service) => (service === 'big' ? '10.1.255.9' : undefined),
  endpointsFor: (service, port) =>
    service === 'big' && port === 8080
      ? Array.from({ length: REPLICAS }, (_, i) => ({
          target: `big-replica-number-${i}.skiff`,
          port: 31_000 + i,
        }))
      : undefined,
};

let server: DnsServer;
let at: Endpoint;

before(async () => {
  server = new DnsServer({
    listen: [{ address: '127.0.0.1', port: 0 }],
    registry: bigRegistry,
    upstreams: [],
  });
  await server.start();
  const [listener] = server.listeners;
  assert.ok(listener);
  at = listener;
});

after(() => server.stop());

/** Opens a TCP connection to the listener and reads framed replies, each with a deadline. */
async function tcpClient(): Promise<{
  socket: Socket;
  next: () => Promise<DecodedPacket>;
  closed: Promise<void>;
}> {
  const socket = connect({ host: at.address, port: at.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const reader = new TcpFrameReader();
  const replies: Buffer[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    const read = reader.push(chunk);
    if (read.kind === 'messages') replies.push(...read.messages);
    wake?.();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const next = async (): Promise<DecodedPacket> => {
    const deadline = Date.now() + DEADLINE_MS;
    while (replies.length === 0) {
      if (Date.now() > deadline) throw new Error('no TCP reply before the deadline');
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    const reply = replies.shift();
    assert.ok(reply);
    return decode(reply);
  };
  return { socket, next, closed };
}

test('a set too large for UDP is truncated there and whole over TCP on the same port', async () => {
  const udp = await TestClient.open();
  try {
    const overUdp = await udp.ask(at, queryBytes('_8080._tcp.big', 'SRV', { id: 7 }));
    assert.equal(overUdp.flag_tc, true, 'the UDP reply says it is truncated');
    assert.ok((overUdp.answers?.length ?? 0) < REPLICAS);
  } finally {
    await udp.close();
  }
  const tcp = await tcpClient();
  try {
    tcp.socket.write(tcpFrame(queryBytes('_8080._tcp.big', 'SRV', { id: 8 })));
    const overTcp = await tcp.next();
    assert.equal(overTcp.id, 8);
    assert.equal(overTcp.flag_tc, false);
    assert.equal(overTcp.answers?.length, REPLICAS);
  } finally {
    tcp.socket.destroy();
  }
});

test('pipelined queries on one connection, split across writes, each get their reply', async () => {
  const tcp = await tcpClient();
  try {
    const both = Buffer.concat([
      tcpFrame(queryBytes('big.skiff', 'A', { id: 21 })),
      tcpFrame(queryBytes('nothing-here.skiff', 'A', { id: 22 })),
    ]);
    tcp.socket.write(both.subarray(0, 7));
    tcp.socket.write(both.subarray(7));
    const replies = [await tcp.next(), await tcp.next()];
    const byId = new Map(replies.map((reply) => [reply.id, reply]));
    assert.deepEqual(
      byId.get(21)?.answers?.map((answer) => (answer as { data?: unknown }).data),
      ['10.1.255.9'],
    );
    assert.equal((byId.get(22) as { rcode?: string } | undefined)?.rcode, 'NXDOMAIN');
  } finally {
    tcp.socket.destroy();
  }
});

test('a zero-length frame ends the connection; the server keeps answering others', async () => {
  const bad = await tcpClient();
  bad.socket.write(Buffer.from([0, 0]));
  await bad.closed;
  const good = await tcpClient();
  try {
    good.socket.write(tcpFrame(queryBytes('big.skiff', 'A', { id: 31 })));
    assert.equal((await good.next()).id, 31);
  } finally {
    good.socket.destroy();
  }
});

test('a port asked for by number whose TCP side is taken still serves UDP', async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as { port: number }).port;
  const logged: string[] = [];
  const udpOnly = new DnsServer({
    listen: [{ address: '127.0.0.1', port }],
    registry: bigRegistry,
    upstreams: [],
    log: (line) => logged.push(line),
  });
  const client = await TestClient.open();
  try {
    await udpOnly.start();
    const reply = await client.ask({ address: '127.0.0.1', port }, queryBytes('big.skiff', 'A', { id: 41 }));
    assert.equal(reply.id, 41);
    assert.ok(logged.some((line) => line.includes('serves UDP only')));
  } finally {
    await client.close();
    await udpOnly.stop();
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  }
});
