import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardRequestHeaders, forwardResponseHeaders, isUnsupportedUpgrade } from './forward-headers.ts';

const client = { clientAddress: '10.1.0.9', proto: 'http' } as const;

function field(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) out.push(raw[i + 1] ?? '');
  return out;
}

test('request: hop-by-hop fields and those named in Connection are dropped, the rest kept in order', () => {
  const raw = [
    'Host',
    'api:8080',
    'Connection',
    'keep-alive, X-Hop',
    'Keep-Alive',
    'timeout=5',
    'X-Hop',
    'secret',
    'Accept',
    'a',
    'Accept',
    'b',
    'TE',
    'trailers',
    'Proxy-Connection',
    'keep-alive',
  ];
  const out = forwardRequestHeaders(raw, client);
  for (const name of ['connection', 'keep-alive', 'x-hop', 'te', 'proxy-connection']) {
    assert.deepEqual(field(out, name), [], name);
  }
  assert.deepEqual(field(out, 'accept'), ['a', 'b']);
  assert.deepEqual(field(out, 'host'), ['api:8080']);
});

test('request: X-Forwarded-For is appended to, proto and host set when absent', () => {
  const fresh = forwardRequestHeaders(['Host', 'api:8080'], client);
  assert.deepEqual(field(fresh, 'x-forwarded-for'), ['10.1.0.9']);
  assert.deepEqual(field(fresh, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(field(fresh, 'x-forwarded-host'), ['api:8080']);

  const relayed = forwardRequestHeaders(
    [
      'Host',
      'api:8080',
      'X-Forwarded-For',
      '203.0.113.7',
      'x-forwarded-for',
      '10.9.0.1',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'shop.example',
    ],
    client,
  );
  assert.deepEqual(field(relayed, 'x-forwarded-for'), ['203.0.113.7, 10.9.0.1, 10.1.0.9']);
  assert.deepEqual(field(relayed, 'x-forwarded-proto'), ['https']);
  assert.deepEqual(field(relayed, 'x-forwarded-host'), ['shop.example']);
});

test('request: a chunked body is re-announced as chunked; Expect and Trailer are not relayed', () => {
  const out = forwardRequestHeaders(
    ['Host', 'h', 'Transfer-Encoding', 'gzip, chunked', 'Expect', '100-continue', 'Trailer', 'X-Sum'],
    client,
  );
  assert.deepEqual(field(out, 'transfer-encoding'), ['chunked']);
  assert.deepEqual(field(out, 'expect'), []);
  assert.deepEqual(field(out, 'trailer'), []);
});

test('response: hop-by-hop dropped, Set-Cookie duplicates and Trailer kept', () => {
  const out = forwardResponseHeaders([
    'Connection',
    'close',
    'Transfer-Encoding',
    'chunked',
    'Set-Cookie',
    'a=1',
    'Set-Cookie',
    'b=2',
    'Trailer',
    'X-Sum',
  ]);
  assert.deepEqual(out, ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Trailer', 'X-Sum']);
});

test('WebSocket upgrades are unsupported; h2c is ignored rather than refused', () => {
  assert.equal(isUnsupportedUpgrade(['Connection', 'Upgrade', 'Upgrade', 'websocket']), true);
  assert.equal(isUnsupportedUpgrade(['Connection', 'Upgrade, HTTP2-Settings', 'Upgrade', 'h2c']), false);
  assert.equal(isUnsupportedUpgrade(['Upgrade', 'websocket']), false);
});
