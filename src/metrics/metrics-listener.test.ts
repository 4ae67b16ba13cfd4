import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackHost, MetricsListenError, parseListenAddress } from './metrics-listener.ts';

test('--metrics-listen takes HOST:PORT and [V6]:PORT, and says what it expected otherwise', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListenAddress('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
  for (const bad of ['9464', ':9464', '127.0.0.1', '127.0.0.1:99999', '[nope]:1', '::1:9464'])
    assert.throws(() => parseListenAddress(bad), MetricsListenError, bad);
});

test('plain HTTP only on loopback: anything else gets TLS', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com'])
    assert.ok(!isLoopbackHost(host), host);
});
