import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode } from 'dns-packet';
import type { SrvRecord } from './dns-answer.ts';
import {
  type DnsQuery,
  decisionReply,
  EDNS_UDP_BYTES,
  RCODE,
  readQuery,
  statusReply,
  withMessageId,
} from './dns-message.ts';
import { queryBytes } from './dns-test-fixture.ts';

function readOk(bytes: Buffer): DnsQuery {
  const read = readQuery(bytes);
  assert.equal(read.kind, 'query');
  return read.kind === 'query' ? read.query : assert.fail();
}

function manySrv(count: number): SrvRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'SRV',
    name: '_8080._tcp.api-server.skiff',
    target: `10.1.0.${i + 1}`,
    port: 8080,
    priority: 0,
    weight: 10,
    ttl: 5,
  }));
}

test('garbage, short messages and responses are dropped', () => {
  assert.deepEqual(readQuery(Buffer.alloc(0)), { kind: 'drop' });
  assert.deepEqual(readQuery(Buffer.from('hello there, resolver')), { kind: 'drop' });
  assert.deepEqual(readQuery(queryBytes('example.com', 'A').subarray(0, 20)), { kind: 'drop' });
  const response = encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'example.com' }] });
  assert.deepEqual(readQuery(response), { kind: 'drop' });
});

test('a header asking for something other than one standard query is refused with a status', () => {
  const notify = queryBytes('example.com', 'SOA', { id: 77 });
  notify.writeUInt8(notify.readUInt8(2) | (4 << 3), 2); // opcode 4: NOTIFY
  assert.deepEqual(readQuery(notify), {
    kind: 'reject',
    id: 77,
    recursionDesired: true,
    rcode: RCODE.NOTIMP,
  });
  const none = encode({ type: 'query', id: 78, questions: [] });
  assert.deepEqual(readQuery(none), {
    kind: 'reject',
    id: 78,
    recursionDesired: false,
    rcode: RCODE.FORMERR,
  });
});

test('a query is read with its id, RD flag, question and EDNS size', () => {
  assert.deepEqual(readOk(queryBytes('Api-Server.skiff', 'A', { id: 9, ednsPayloadBytes: 4096 })), {
    id: 9,
    recursionDesired: true,
    question: { name: 'Api-Server.skiff', type: 'A', class: 'IN' },
    ednsPayloadBytes: 4096,
  });
  assert.equal(readOk(queryBytes('x', 'A')).ednsPayloadBytes, undefined);
});

test('an answer is authoritative, echoes id and question, and carries the records', () => {
  const query = readOk(queryBytes('api-server.skiff', 'A', { id: 500 }));
  const reply = decode(
    decisionReply(query, {
      kind: 'answer',
      records: [{ type: 'A', name: 'api-server.skiff', address: '10.1.255.1', ttl: 5 }],
    }),
  );
  assert.equal(reply.id, 500);
  assert.equal(reply.type, 'response');
  assert.equal(reply.flag_aa, true);
  assert.equal(reply.flag_rd, true);
  assert.equal(reply.flag_tc, false);
  assert.deepEqual(reply.questions, [{ name: 'api-server.skiff', type: 'A', class: 'IN' }]);
  assert.deepEqual(
    reply.answers?.map((a) => ({ name: a.name, type: a.type, data: 'data' in a ? a.data : undefined })),
    [{ name: 'api-server.skiff', type: 'A', data: '10.1.255.1' }],
  );
});

test('NXDOMAIN and empty answers differ only in rcode', () => {
  const query = readOk(queryBytes('nope.skiff', 'A'));
  const nx = decode(decisionReply(query, { kind: 'nxdomain' })) as { rcode?: string; answers?: unknown[] };
  const empty = decode(decisionReply(query, { kind: 'empty' })) as { rcode?: string; answers?: unknown[] };
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(empty.rcode, 'NOERROR');
  assert.deepEqual([nx.answers, empty.answers], [[], []]);
});

test('an answer over 512 bytes keeps the records that fit and sets TC', () => {
  const query = readOk(queryBytes('_8080._tcp.api-server.skiff', 'SRV'));
  const bytes = decisionReply(query, { kind: 'answer', records: manySrv(40) });
  const reply = decode(bytes);
  assert.ok(bytes.length <= 512, `${bytes.length} bytes`);
  assert.equal(reply.flag_tc, true);
  assert.ok((reply.answers?.length ?? 0) > 0 && (reply.answers?.length ?? 0) < 40);
});

test('an EDNS client gets up to the size we advertise, and our OPT record', () => {
  const query = readOk(queryBytes('_8080._tcp.api-server.skiff', 'SRV', { ednsPayloadBytes: 4096 }));
  const fits = decode(decisionReply(query, { kind: 'answer', records: manySrv(15) }));
  assert.equal(fits.flag_tc, false);
  assert.equal(fits.answers?.length, 15);
  const opt = fits.additionals?.find((record) => record.type === 'OPT');
  assert.equal(opt?.type === 'OPT' && opt.udpPayloadSize, EDNS_UDP_BYTES);

  const bytes = decisionReply(query, { kind: 'answer', records: manySrv(100) });
  assert.ok(bytes.length <= EDNS_UDP_BYTES && bytes.length > 512, `${bytes.length} bytes`);
  assert.equal(decode(bytes).flag_tc, true);
});

test('a SERVFAIL echoes the question; a relayed message gets its id replaced and nothing else', () => {
  const query = readOk(queryBytes('example.com', 'A', { id: 31 }));
  const servfail = decode(statusReply(query, RCODE.SERVFAIL)) as { rcode?: string; id?: number };
  assert.deepEqual([servfail.rcode, servfail.id], ['SERVFAIL', 31]);
  const original = queryBytes('example.com', 'A', { id: 1 });
  const relayed = withMessageId(original, 0xbeef);
  assert.equal(relayed.readUInt16BE(0), 0xbeef);
  assert.deepEqual(relayed.subarray(2), original.subarray(2));
  assert.equal(original.readUInt16BE(0), 1);
});
