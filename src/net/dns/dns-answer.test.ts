import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerQuestion, type DnsDecision } from './dns-answer.ts';
import { twoNetworkRegistry } from './dns-test-fixture.ts';

const registry = twoNetworkRegistry();
const FRONT = '10.1.0.5';
const BACK = '10.2.0.5';

function ask(name: string, type: string, client = FRONT): DnsDecision {
  return answerQuestion({ name, type }, client, registry);
}

test('a service name under .skiff resolves to its VIP on the asking network', () => {
  assert.deepEqual(ask('api-server.skiff', 'A'), {
    kind: 'answer',
    records: [{ type: 'A', name: 'api-server.skiff', address: '10.1.255.1', ttl: 5 }],
  });
  assert.deepEqual(ask('api-server.skiff', 'A', BACK), {
    kind: 'answer',
    records: [{ type: 'A', name: 'api-server.skiff', address: '10.2.255.1', ttl: 5 }],
  });
});

test('a bare service name resolves like its .skiff name', () => {
  assert.deepEqual(ask('api-server', 'A'), {
    kind: 'answer',
    records: [{ type: 'A', name: 'api-server', address: '10.1.255.1', ttl: 5 }],
  });
});

test('names are case-insensitive, may end in a dot, and records echo the name as asked', () => {
  const expected = (name: string) => ({
    kind: 'answer',
    records: [{ type: 'A', name, address: '10.1.255.1', ttl: 5 }],
  });
  assert.deepEqual(ask('API-Server.SKIFF.', 'A'), expected('API-Server.SKIFF'));
  assert.deepEqual(ask('Api-Server.', 'a'), expected('Api-Server'));
});

test('the TTL is configurable', () => {
  const decision = answerQuestion({ name: 'api-server.skiff', type: 'A' }, FRONT, registry, {
    ttlSeconds: 1,
  });
  assert.equal(decision.kind === 'answer' && decision.records[0]?.ttl, 1);
});

test('SRV names list the replica endpoints, with and without .skiff', () => {
  const records = (name: string) => [
    { type: 'SRV', name, target: 'api-server-0.skiff', port: 31_000, priority: 0, weight: 10, ttl: 5 },
    { type: 'SRV', name, target: '10.1.0.7', port: 8080, priority: 0, weight: 10, ttl: 5 },
  ];
  assert.deepEqual(ask('_8080._tcp.api-server.skiff', 'SRV'), {
    kind: 'answer',
    records: records('_8080._tcp.api-server.skiff'),
  });
  assert.deepEqual(ask('_8080._TCP.api-server.', 'SRV'), {
    kind: 'answer',
    records: records('_8080._TCP.api-server'),
  });
});

test('a service name exists without records of other types: AAAA, MX, SRV on the A name', () => {
  assert.deepEqual(ask('api-server.skiff', 'AAAA'), { kind: 'empty' });
  assert.deepEqual(ask('api-server', 'AAAA'), { kind: 'empty' });
  assert.deepEqual(ask('api-server.skiff', 'MX'), { kind: 'empty' });
  assert.deepEqual(ask('_8080._tcp.api-server.skiff', 'A'), { kind: 'empty' });
  assert.deepEqual(ask('_tcp.api-server.skiff', 'SRV'), { kind: 'empty' });
  assert.deepEqual(ask('skiff', 'SOA'), { kind: 'empty' });
});

test('a known port with no replicas running is an empty answer, not NXDOMAIN', () => {
  assert.deepEqual(ask('_9090._tcp.api-server.skiff', 'SRV'), { kind: 'empty' });
});

test('unknown names under .skiff do not exist', () => {
  assert.deepEqual(ask('nope.skiff', 'A'), { kind: 'nxdomain' });
  assert.deepEqual(ask('a.b.skiff', 'A'), { kind: 'nxdomain' });
  assert.deepEqual(ask('_7777._tcp.api-server.skiff', 'SRV'), { kind: 'nxdomain' });
  assert.deepEqual(ask('_http._tcp.api-server.skiff', 'SRV'), { kind: 'nxdomain' });
  assert.deepEqual(ask('_8080._udp.api-server.skiff', 'SRV'), { kind: 'nxdomain' });
  assert.deepEqual(ask('_70000._tcp.api-server.skiff', 'SRV'), { kind: 'nxdomain' });
  assert.deepEqual(ask('_tcp.nope.skiff', 'SRV'), { kind: 'nxdomain' });
});

test('a service isolated from the client does not exist for it under .skiff', () => {
  assert.deepEqual(ask('db.skiff', 'A', FRONT), { kind: 'nxdomain' });
  assert.deepEqual(ask('db.skiff', 'AAAA', FRONT), { kind: 'nxdomain' });
  assert.deepEqual(ask('_5432._tcp.db.skiff', 'SRV', FRONT), { kind: 'nxdomain' });
  assert.equal(ask('db.skiff', 'A', BACK).kind, 'answer');
  assert.equal(ask('_5432._tcp.db.skiff', 'SRV', BACK).kind, 'answer');
  assert.deepEqual(ask('api-server.skiff', 'A', '192.168.9.9'), { kind: 'nxdomain' });
});

test('a bare name we do not know for this client is forwarded: it may be a host on a search domain', () => {
  assert.deepEqual(ask('printer', 'A'), { kind: 'forward' });
  assert.deepEqual(ask('db', 'A', FRONT), { kind: 'forward' });
  assert.deepEqual(ask('_5432._tcp.db', 'SRV', FRONT), { kind: 'forward' });
  assert.deepEqual(ask('_tcp.api-server', 'SRV'), { kind: 'forward' });
});

test('names outside the zone are forwarded, including a service name with a search domain appended', () => {
  assert.deepEqual(ask('example.com', 'A'), { kind: 'forward' });
  assert.deepEqual(ask('api-server.corp.example', 'A'), { kind: 'forward' });
  assert.deepEqual(ask('api-server.skiff.corp.example', 'A'), { kind: 'forward' });
  assert.deepEqual(ask('skiff.example', 'A'), { kind: 'forward' });
  assert.deepEqual(ask('', 'NS'), { kind: 'forward' });
  assert.deepEqual(ask('.', 'NS'), { kind: 'forward' });
});
