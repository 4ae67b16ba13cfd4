import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopback, plainRefusal } from './first-byte-listener.ts';

test('loopback peers are 127/8 and ::1, in IPv4-mapped form too; nothing else', () => {
  for (const address of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1'])
    assert.ok(isLoopback(address), address);
  for (const address of ['10.77.0.2', '::ffff:10.0.0.1', '128.0.0.1', 'fe80::1', undefined]) {
    assert.equal(isLoopback(address), false, String(address));
  }
});

test('the refusal of a plain request is an HTTP answer that says to use https', () => {
  const answer = plainRefusal('10.77.0.1:8080');
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(answer, /use https:\/\/10\.77\.0\.1:8080/);
  const [, body] = answer.split('\r\n\r\n');
  assert.equal(Buffer.byteLength(body ?? ''), Number(answer.match(/Content-Length: (\d+)/)?.[1]));
});
