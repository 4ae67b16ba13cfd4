import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { afterEach, test } from 'node:test';
import { encode } from 'dns-packet';
import { DnsServer, type DnsServerOptions } from './dns-server.ts';
import {
  answeringWith,
  FakeUpstream,
  queryBytes,
  TestClient,
  twoNetworkRegistry,
} from './dns-test-fixture.ts';
import type { Endpoint } from './endpoint.ts';

// Everything a test opens is closed after it, whatever it asserted.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(answer: Parameters<typeof FakeUpstream.start>[0]): Promise<FakeUpstream> {
  const fake = await FakeUpstream.start(answer);
  cleanups.push(() => fake.close());
  return fake;
}

async function serverWith(options: Partial<DnsServerOptions>): Promise<{ at: Endpoint; client: TestClient }> {
  const server = new DnsServer({
    listen: [{ address: '127.0.0.1', port: 0 }],
    registry: twoNetworkRegistry(),
    upstreams: [],
    ...options,
  });
  await server.start();
  cleanups.push(() => server.stop());
  const client = await TestClient.open();
  cleanups.push(() => client.close());
  const [at] = server.listeners;
  assert.ok(at);
  return { at, client };
}

test('a name that is not ours is relayed from the upstream, under the client id', async () => {
  const fake = await upstream(answeringWith('192.0.2.10'));
  const { at, client } = await serverWith({ upstreams: [fake.address] });
  const reply = await client.ask(at, queryBytes('www.example.com', 'A', { id: 0x1234 }));
  assert.equal(reply.id, 0x1234);
  assert.deepEqual(
    reply.answers?.map((a) => [a.name, 'ttl' in a ? a.ttl : undefined, 'data' in a ? a.data : undefined]),
    [['www.example.com', 300, '192.0.2.10']],
  );
  assert.deepEqual(fake.received[0]?.questions, [{ name: 'www.example.com', type: 'A', class: 'IN' }]);
});

test('two clients using the same id each get their own answer back', async () => {
  const fake = await upstream(answeringWith((name) => (name === 'one.example' ? '192.0.2.1' : '192.0.2.2')));
  const { at, client } = await serverWith({ upstreams: [fake.address] });
  const other = await TestClient.open();
  cleanups.push(() => other.close());
  client.send(at, queryBytes('one.example', 'A', { id: 7 }));
  other.send(at, queryBytes('two.example', 'A', { id: 7 }));
  const [first, second] = await Promise.all([client.nextReply(), other.nextReply()]);
  assert.deepEqual(
    [first, second].map((reply) => [reply.id, reply.answers?.[0]?.name]),
    [
      [7, 'one.example'],
      [7, 'two.example'],
    ],
  );
  // Upstream saw distinct ids, or it could not have told the two apart.
  assert.notEqual(fake.received[0]?.id, fake.received[1]?.id);
});

test('a silent upstream is skipped after the timeout and the next one answers', async () => {
  const silent = await upstream(() => undefined);
  const answering = await upstream(answeringWith('192.0.2.20'));
  const { at, client } = await serverWith({
    upstreams: [silent.address, answering.address],
    forwardTimeoutMs: 150,
  });
  const started = performance.now();
  const reply = await client.ask(at, queryBytes('www.example.com', 'A', { id: 99 }));
  assert.equal(reply.id, 99);
  assert.equal(reply.answers?.[0]?.type === 'A' && reply.answers[0].data, '192.0.2.20');
  assert.ok(performance.now() - started >= 140, 'the second upstream was asked only after the timeout');
  assert.equal(silent.received.length, 1);
});

test('when no upstream answers, the client gets SERVFAIL within the timeouts', async () => {
  const silent = await upstream(() => undefined);
  // A port with nothing behind it: bound, noted, and closed again.
  const closed = createSocket('udp4');
  await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', resolve));
  const deadPort = closed.address().port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  const { at, client } = await serverWith({
    upstreams: [`127.0.0.1:${deadPort}`, silent.address],
    forwardTimeoutMs: 150,
  });
  const started = performance.now();
  const reply = (await client.ask(at, queryBytes('www.example.com', 'A', { id: 5 }), 2000)) as {
    id?: number;
    rcode?: string;
  };
  const elapsedMs = performance.now() - started;
  assert.deepEqual([reply.id, reply.rcode], [5, 'SERVFAIL']);
  assert.ok(elapsedMs >= 140 && elapsedMs < 1500, `${Math.round(elapsedMs)} ms`);
});

test('past the bound on pending forwards, a query gets SERVFAIL without waiting', async () => {
  const silent = await upstream(() => undefined);
  const { at, client } = await serverWith({
    upstreams: [silent.address],
    forwardTimeoutMs: 2000,
    maxPendingForwards: 1,
  });
  const other = await TestClient.open();
  cleanups.push(() => other.close());
  const arrived = silent.nextQuery();
  other.send(at, queryBytes('slow.example', 'A', { id: 1 }));
  await arrived;
  const reply = (await client.ask(at, queryBytes('next.example', 'A', { id: 2 }), 1000)) as {
    id?: number;
    rcode?: string;
  };
  assert.deepEqual([reply.id, reply.rcode], [2, 'SERVFAIL']);
});

test('an upstream that is one of our own listeners is skipped, so a query cannot loop', async () => {
  const fake = await upstream(answeringWith('192.0.2.30'));
  // Our own address must be known before the server starts: take a free port and hand it over.
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const ownPort = probe.address().port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const { at, client } = await serverWith({
    listen: [{ address: '127.0.0.1', port: ownPort }],
    upstreams: [`127.0.0.1:${ownPort}`, fake.address],
    forwardTimeoutMs: 2000,
  });
  const reply = await client.ask(at, queryBytes('www.example.com', 'A', { id: 11 }), 1000);
  assert.equal(reply.answers?.[0]?.type === 'A' && reply.answers[0].data, '192.0.2.30');
});

test('a reply from an address other than the upstream asked is ignored', async () => {
  const silent = await upstream(() => undefined);
  const { at, client } = await serverWith({ upstreams: [silent.address], forwardTimeoutMs: 300 });
  const arrived = silent.nextQuery();
  client.send(at, queryBytes('www.example.com', 'A', { id: 21 }));
  const forwarded = await arrived;
  const forwarder = silent.senders[0];
  assert.ok(forwarder);
  // A spoofer that knows the id and the forwarder's port, but sends from a socket of its own.
  const spoofer = createSocket('udp4');
  cleanups.push(() => new Promise((resolve) => spoofer.close(() => resolve())));
  spoofer.send(encode(answeringWith('203.0.113.66')(forwarded)), forwarder.port, forwarder.address);
  const reply = (await client.nextReply(1500)) as { id?: number; rcode?: string };
  assert.deepEqual([reply.id, reply.rcode], [21, 'SERVFAIL']);
});
