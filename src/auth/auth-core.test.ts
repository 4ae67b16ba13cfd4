/**
 * The pure parts of authentication: roles, route permissions, token secrets and hashes, the
 * strength of a preset token, lifetimes, and the failed-authentication limiter.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashMatches, hashToken, newTokenSecret, parseExpiryMs } from './api-tokens.ts';
import { FailedAuthLimiter, isLoopback } from './failed-auth-limiter.ts';
import { roleAllows } from './roles.ts';
import { permissionFor } from './route-permissions.ts';
import { estimatedBits, weakTokenReason } from './token-strength.ts';

describe('roles', () => {
  test('each role holds its level and those below', () => {
    const table = (['viewer', 'operator', 'admin'] as const).map((role) =>
      (['read', 'operate', 'admin'] as const).map((p) => roleAllows(role, p)),
    );
    assert.deepEqual(table, [
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ]);
  });
  test('a route missing from the table needs admin; no matched route needs only a token', () => {
    assert.equal(permissionFor('GET', '/api/services'), 'read');
    assert.equal(permissionFor('POST', '/api/brand-new'), 'admin');
    assert.equal(permissionFor('GET', undefined), 'read');
  });
});

describe('token secrets', () => {
  test('192 random bits behind a prefix; the hash matches only its own secret', () => {
    const a = newTokenSecret();
    const b = newTokenSecret();
    assert.notEqual(a, b);
    assert.match(a, /^skiff_tok_[A-Za-z0-9_-]{32}$/);
    assert.equal(hashMatches(hashToken(a), hashToken(a)), true);
    assert.equal(hashMatches(hashToken(a), hashToken(b)), false);
    assert.match(hashToken(a), /^[0-9a-f]{64}$/);
  });
  test('lifetimes', () => {
    assert.equal(parseExpiryMs('30d'), 30 * 86_400_000);
    assert.equal(parseExpiryMs('12h'), 12 * 3_600_000);
    assert.equal(parseExpiryMs('90m'), 90 * 60_000);
    for (const bad of ['0d', '30', 'd', '1y', '-1d']) assert.equal(parseExpiryMs(bad), undefined, bad);
  });
});

describe('preset token strength', () => {
  test('short, repetitive or low-entropy tokens are refused with the reason; random ones pass', () => {
    for (const weak of [
      'a',
      'password123',
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      '0123456789abcdef0123456789abcde',
    ]) {
      assert.match(weakTokenReason(weak) ?? '', /too weak .* at least 128/, weak);
    }
    assert.equal(weakTokenReason('9f86d081884c7d659a2feaa0c55ad015'), undefined, '32 hex = 128 bits');
    assert.equal(weakTokenReason(newTokenSecret()), undefined);
    assert.equal(estimatedBits('9f86d081884c7d659a2feaa0c55ad015'), 128);
  });
});

describe('FailedAuthLimiter', () => {
  test('a burst, then one try per refill; a full bucket is forgotten', () => {
    const limiter = new FailedAuthLimiter({ burst: 3, refillPerSecond: 1, maxAddresses: 100 });
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfterMs('a', 0), 0);
      limiter.recordFailure('a', 0);
    }
    assert.equal(limiter.retryAfterMs('a', 0), 1000);
    assert.equal(limiter.retryAfterMs('a', 500), 500);
    assert.equal(limiter.retryAfterMs('a', 1000), 0);
    assert.equal(limiter.retryAfterMs('b', 1000), 0);
    assert.equal(limiter.retryAfterMs('a', 10_000), 0);
    assert.equal(limiter.size, 0);
  });
  test('memory is bounded: the least recently failing addresses go first', () => {
    const limiter = new FailedAuthLimiter({ burst: 1, refillPerSecond: 0.001, maxAddresses: 2 });
    for (const address of ['a', 'b', 'c']) limiter.recordFailure(address, 0);
    assert.equal(limiter.size, 2);
    assert.equal(limiter.retryAfterMs('a', 0), 0, 'a was forgotten');
    assert.ok(limiter.retryAfterMs('c', 0) > 0);
  });
  test('loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      assert.equal(isLoopback(a), true, a);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1']) assert.equal(isLoopback(a), false, a);
  });
});
