import assert from 'node:assert/strict';
import { test } from 'node:test';
import { href, parseHash } from './router.ts';

test('views and their parameters round-trip through the URL fragment', () => {
  const link = href(['services', 'web api'], { tab: 'logs', q: 'a&b', empty: '' });
  assert.equal(link, '#/services/web%20api?tab=logs&q=a%26b');
  const route = parseHash(link);
  assert.deepEqual(route.segments, ['services', 'web api']);
  assert.equal(route.params.get('tab'), 'logs');
  assert.equal(route.params.get('q'), 'a&b');
  assert.deepEqual(parseHash('').segments, []);
  assert.deepEqual(parseHash('#/nodes/').segments, ['nodes']);
});
