import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUpstream, sameEndpoint } from './endpoint.ts';
import { InvalidUpstreamError } from './errors.ts';

test('upstreams are addresses with an optional port, 53 by default', () => {
  assert.deepEqual(parseUpstream('1.1.1.1'), { address: '1.1.1.1', port: 53 });
  assert.deepEqual(parseUpstream('127.0.0.53:5353'), { address: '127.0.0.53', port: 5353 });
  assert.deepEqual(parseUpstream('2606:4700:0:0::1111'), { address: '2606:4700::1111', port: 53 });
  assert.deepEqual(parseUpstream('[::1]:5353'), { address: '::1', port: 5353 });
});

test('anything else is an InvalidUpstreamError', () => {
  for (const bad of [
    '',
    'dns.example',
    'dns.example:53',
    '1.1.1.1:',
    '1.1.1.1:0',
    '1.1.1.1:99999',
    '[::1]',
  ]) {
    assert.throws(() => parseUpstream(bad), InvalidUpstreamError, bad);
  }
});

test('endpoints compare by canonical address and port', () => {
  assert.ok(sameEndpoint({ address: '::1', port: 53 }, { address: '0:0::1', port: 53 }));
  assert.ok(!sameEndpoint({ address: '::1', port: 53 }, { address: '::1', port: 54 }));
  assert.ok(!sameEndpoint({ address: '127.0.0.1', port: 53 }, { address: '127.0.0.53', port: 53 }));
});
