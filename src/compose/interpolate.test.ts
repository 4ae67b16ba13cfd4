/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: the subject is Compose's own ${VAR} syntax, in plain strings */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolate, parseDotEnv } from './interpolate.ts';

const env = { TAG: 'v2', EMPTY: '', PORT: '8080' };
const value = (text: string) => {
  const result = interpolate(text, env);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.value;
};

test('plain and braced variables, unset ones empty, $$ a literal dollar', () => {
  assert.equal(value('shop:$TAG'), 'shop:v2');
  assert.equal(value('shop:${TAG}-x'), 'shop:v2-x');
  assert.equal(value('[${UNSET}]'), '[]');
  assert.equal(value('cost $$5'), 'cost $5');
  assert.equal(value('no variables'), 'no variables');
});

test('defaults: ":-" covers unset and empty, "-" only unset; defaults may nest', () => {
  assert.equal(value('${UNSET:-8000}'), '8000');
  assert.equal(value('${EMPTY:-8000}'), '8000');
  assert.equal(value('${EMPTY-8000}'), '');
  assert.equal(value('${PORT:-1}'), '8080');
  assert.equal(value('${UNSET:-${PORT}}'), '8080');
  assert.equal(value('${UNSET:-${ALSO_UNSET:-deep}}'), 'deep');
});

test('"+" replaces a set variable; "?" makes a missing one an error naming it', () => {
  assert.equal(value('${PORT:+set}'), 'set');
  assert.equal(value('${UNSET:+set}'), '');
  assert.equal(value('${EMPTY+set}'), 'set');
  const failed = interpolate('${DB_PASSWORD:?give the database a password}', env);
  assert.deepEqual(failed, {
    ok: false,
    reason: 'required variable DB_PASSWORD is not set: give the database a password',
  });
  assert.equal(interpolate('${EMPTY:?}', env).ok, false);
  assert.equal(interpolate('${EMPTY?}', env).ok, true);
});

test('malformed references are errors, never passed through silently', () => {
  for (const bad of ['${TAG', '${}', '${1X}', 'price $', 'a $ b', '${TAG:x}']) {
    assert.equal(interpolate(bad, env).ok, false, bad);
  }
});

test('.env files: comments, export, quotes, inline comments', () => {
  assert.deepEqual(
    parseDotEnv(
      '# comment\n\nTAG=v3\nexport PORT=9000\nQUOTED="a b # not a comment"\nSINGLE=\'x\'\nINLINE=1 # note\n',
    ),
    { TAG: 'v3', PORT: '9000', QUOTED: 'a b # not a comment', SINGLE: 'x', INLINE: '1' },
  );
});
