import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DnsServer } from './dns-server.ts';
import { queryBytes, TestClient, twoNetworkRegistry } from './dns-test-fixture.ts';
import type { Endpoint } from './endpoint.ts';

// The test client asks from 127.0.0.1, which the fixture's registry puts on the `front` network.
let server: DnsServer;
let client: TestClient;
let at: Endpoint;

before(async () => {
  server = new DnsServer({
    listen: [{ address: '127.0.0.1', port: 0 }],
    registry: twoNetworkRegistry(),
    upstreams: [],
  });
  await server.start();
  const [listener] = server.listeners;
  assert.ok(listener);
  at = listener;
  client = await TestClient.open();
});

after(async () => {
  await client.close();
  await server.stop();
});

test('port 0 binds a real port, reported in listeners', () => {
  assert.equal(at.address, '127.0.0.1');
  assert.ok(at.port > 0);
});

test('an A query for a service gets its VIP on the client network', async () => {
  const reply = await client.ask(at, queryBytes('api-server.skiff', 'A', { id: 1001 }));
  assert.equal(reply.id, 1001);
  assert.equal(reply.flag_aa, true);
  assert.deepEqual(
    reply.answers?.map((a) => [
      a.type,
      a.name,
      'ttl' in a ? a.ttl : undefined,
      'data' in a ? a.data : undefined,
    ]),
    [['A', 'api-server.skiff', 5, '10.1.255.1']],
  );
});

test('an SRV query lists the replica endpoints', async () => {
  const reply = await client.ask(at, queryBytes('_8080._tcp.api-server', 'SRV', { id: 1002 }));
  assert.equal(reply.id, 1002);
  assert.deepEqual(
    reply.answers?.map((a) => (a.type === 'SRV' ? [a.data.target, a.data.port] : a.type)),
    [
      ['api-server-0.skiff', 31_000],
      ['10.1.0.7', 8080],
    ],
  );
});

test('an unknown or isolated name under .skiff is NXDOMAIN', async () => {
  for (const name of ['nope.skiff', 'db.skiff']) {
    const reply = (await client.ask(at, queryBytes(name, 'A', { id: 1003 }))) as {
      rcode?: string;
      answers?: unknown[];
    };
    assert.equal(reply.rcode, 'NXDOMAIN', name);
    assert.deepEqual(reply.answers, []);
  }
});

test('AAAA for a service is NOERROR with no answers', async () => {
  const reply = (await client.ask(at, queryBytes('api-server', 'AAAA'))) as {
    rcode?: string;
    answers?: unknown[];
  };
  assert.equal(reply.rcode, 'NOERROR');
  assert.deepEqual(reply.answers, []);
});

test('malformed packets are dropped without a reply, and the server keeps answering', async () => {
  client.send(at, Buffer.from([0x01]));
  client.send(at, Buffer.from('definitely not a DNS message'));
  const truncated = queryBytes('api-server.skiff', 'A', { id: 2001 }).subarray(0, 18);
  client.send(at, truncated);
  // UDP on loopback keeps order: had any of the above been answered, that reply would come first.
  const reply = await client.ask(at, queryBytes('api-server.skiff', 'A', { id: 2002 }));
  assert.equal(reply.id, 2002);
  assert.equal(reply.answers?.length, 1);
});

test('with no upstreams, a name that is not ours gets SERVFAIL at once', async () => {
  const reply = (await client.ask(at, queryBytes('example.com', 'A', { id: 1004 }), 500)) as {
    rcode?: string;
    id?: number;
  };
  assert.deepEqual([reply.id, reply.rcode], [1004, 'SERVFAIL']);
});

test('a registry that throws costs that query a SERVFAIL, not the server', async () => {
  const logged: string[] = [];
  const broken = new DnsServer({
    listen: [{ address: '127.0.0.1', port: 0 }],
    registry: {
      vipFor: () => {
        throw new Error('registry bug');
      },
      endpointsFor: () => undefined,
    },
    upstreams: [],
    log: (message) => logged.push(message),
  });
  await broken.start();
  try {
    const [brokenAt] = broken.listeners;
    assert.ok(brokenAt);
    const reply = (await client.ask(brokenAt, queryBytes('api-server.skiff', 'A', { id: 3001 }))) as {
      id?: number;
      rcode?: string;
    };
    assert.deepEqual([reply.id, reply.rcode], [3001, 'SERVFAIL']);
    assert.ok(logged.some((line) => line.includes('registry bug')));
  } finally {
    await broken.stop();
  }
});
