import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHaproxyVersion } from './haproxy-process.ts';

test("haproxy -v's version line is read; anything else is no version", () => {
  assert.deepEqual(
    parseHaproxyVersion('HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\nStatus: …'),
    [2, 6],
  );
  assert.deepEqual(parseHaproxyVersion('HAProxy version 3.0.5 2024/09/19'), [3, 0]);
  assert.equal(parseHaproxyVersion('HA-Proxy version 1.5.18 2016/05/10'), undefined);
  assert.equal(parseHaproxyVersion(''), undefined);
});
