import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bearerToken, ensureTokens, tokenMatches } from './tokens.ts';

test('tokens are created once, mode 0600, prefixed so none starts with a dash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-tokens-'));
  try {
    for (let i = 0; i < 50; i++) {
      rmSync(join(dir, 'admin.token'), { force: true });
      rmSync(join(dir, 'join.token'), { force: true });
      const tokens = ensureTokens(dir, undefined);
      assert.match(tokens.admin, /^skiff_admin_[A-Za-z0-9_-]{32}$/);
      assert.match(tokens.join, /^skiff_join_[A-Za-z0-9_-]{32}$/);
    }
    const first = ensureTokens(dir, undefined);
    assert.deepEqual(ensureTokens(dir, undefined), first, 'kept across restarts');
    assert.equal(statSync(first.adminPath).mode & 0o777, 0o600);
    assert.equal(statSync(first.joinPath).mode & 0o777, 0o600);
    assert.equal(ensureTokens(dir, 'preset-by-env').admin, 'preset-by-env');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bearer tokens are compared exactly', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(tokenMatches('abc', 'abc'), true);
  assert.equal(tokenMatches('abd', 'abc'), false);
  assert.equal(tokenMatches('ab', 'abc'), false);
  assert.equal(tokenMatches(undefined, 'abc'), false);
});
