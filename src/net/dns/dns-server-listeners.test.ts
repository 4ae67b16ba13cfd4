import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { afterEach, test } from 'node:test';
import { DnsServer } from './dns-server.ts';
import { queryBytes, TestClient, twoNetworkRegistry } from './dns-test-fixture.ts';
import { DnsListenerError, DnsServerStateError } from './errors.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function newServer(listen: { address: string; port: number }[] = []): DnsServer {
  const server = new DnsServer({ listen, registry: twoNetworkRegistry(), upstreams: [] });
  cleanups.push(() => server.stop());
  return server;
}

async function client(family: 'udp4' | 'udp6' = 'udp4'): Promise<TestClient> {
  const opened = await TestClient.open(family);
  cleanups.push(() => opened.close());
  return opened;
}

/** True if a UDP socket can take this address and port right now. */
async function canBind(address: string, port: number): Promise<boolean> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const bound = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, address, () => resolve(true));
  });
  await new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
  return bound;
}

test('listeners added as networks appear each answer, and adding one twice is a no-op', async () => {
  const server = newServer();
  await server.start();
  const first = await server.addListener({ address: '127.0.0.1', port: 0 });
  const again = await server.addListener({ address: '127.0.0.1', port: 0 });
  const second = await server.addListener({ address: '127.0.0.2', port: 0 });
  assert.deepEqual(again, first);
  assert.deepEqual(server.listeners, [first, second]);
  const asker = await client();
  for (const at of [first, second]) {
    const reply = await asker.ask(at, queryBytes('api-server.skiff', 'A', { id: at.port }));
    assert.equal(reply.id, at.port);
    assert.equal(reply.answers?.length, 1);
  }
});

test('a removed listener gives its port back; removing an unknown one is a no-op', async () => {
  const server = newServer([{ address: '127.0.0.1', port: 0 }]);
  await server.start();
  const [bound] = server.listeners;
  assert.ok(bound);
  assert.equal(await canBind(bound.address, bound.port), false);
  await server.removeListener(bound);
  await server.removeListener({ address: '127.0.0.9', port: 53 });
  assert.deepEqual(server.listeners, []);
  assert.equal(await canBind(bound.address, bound.port), true);
});

test('an address that is not on this host fails with DnsListenerError and can be retried', async () => {
  const server = newServer();
  await server.start();
  // 192.0.2.0/24 is reserved for documentation: binding fails locally and nothing is sent.
  const absent = { address: '192.0.2.1', port: 0 };
  await assert.rejects(server.addListener(absent), DnsListenerError);
  await assert.rejects(server.addListener(absent), DnsListenerError);
  await assert.rejects(server.addListener({ address: 'localhost', port: 0 }), DnsListenerError);
  assert.deepEqual(server.listeners, []);
});

test('if one listener of start() cannot bind, none stays bound', async () => {
  const taken = newServer([{ address: '127.0.0.1', port: 0 }]);
  await taken.start();
  const [busy] = taken.listeners;
  assert.ok(busy);
  const server = newServer([
    { address: '127.0.0.3', port: 0 },
    { address: busy.address, port: busy.port },
  ]);
  await assert.rejects(server.start(), DnsListenerError);
  assert.deepEqual(server.listeners, []);
  await assert.rejects(server.addListener({ address: '127.0.0.3', port: 0 }), DnsServerStateError);
});

test('the lifecycle is start once, stop for good', async () => {
  const server = newServer();
  await assert.rejects(server.addListener({ address: '127.0.0.1', port: 0 }), DnsServerStateError);
  await server.start();
  await assert.rejects(server.start(), DnsServerStateError);
  await server.addListener({ address: '127.0.0.1', port: 0 });
  await server.stop();
  await server.stop();
  assert.deepEqual(server.listeners, []);
  await assert.rejects(server.addListener({ address: '127.0.0.1', port: 0 }), DnsServerStateError);
});

// Needs the IPv6 loopback (Debian has it): without it this fails rather than skipping.
test('an IPv6 listener answers IPv6 clients', async () => {
  const server = newServer([{ address: '::1', port: 0 }]);
  await server.start();
  const [at] = server.listeners;
  assert.ok(at);
  const reply = await (await client('udp6')).ask(at, queryBytes('api-server', 'A', { id: 66 }));
  assert.equal(reply.answers?.[0]?.type === 'A' && reply.answers[0].data, '10.1.255.1');
});
