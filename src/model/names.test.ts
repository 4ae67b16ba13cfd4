import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerName, SERVICE_NAME_PATTERN, slotName } from './names.ts';

test('replicas are named by slot, as the spec shows', () => {
  assert.equal(slotName('api-server', 0), 'api-server-0');
  assert.equal(slotName('api-server', 12), 'api-server-12');
});

test('container names add the task id, so a replacement can start beside its predecessor', () => {
  assert.equal(
    containerName('api-server', 2, '1f377f806f134bbca07aa49029d91681'),
    'api-server-2.1f377f806f13',
  );
  assert.notEqual(
    containerName('api-server', 2, 'aaaaaaaaaaaa1'),
    containerName('api-server', 2, 'bbbbbbbbbbbb1'),
  );
});

test('service names are DNS labels', () => {
  for (const good of ['a', 'api-server', 'x1', 'a'.repeat(63)]) assert.match(good, SERVICE_NAME_PATTERN);
  for (const bad of ['', 'Api', '-api', 'api-', 'api_server', 'a'.repeat(64), 'api.server']) {
    assert.doesNotMatch(bad, SERVICE_NAME_PATTERN, bad);
  }
});
