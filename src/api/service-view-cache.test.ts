import assert from 'node:assert/strict';
import { test } from 'node:test';
import { running, service, task } from '../server/pass-fixture.ts';
import { ServiceViewCache } from './service-view-cache.ts';
import { serviceView } from './views.ts';

test("a service's view text is made again only when its record or one of its tasks' records is replaced", () => {
  const cache = new ServiceViewCache();
  const web = service('web', 2);
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b', false)];
  const first = cache.text(web, tasks);
  assert.equal(first, JSON.stringify(serviceView(web, tasks)));
  assert.equal(cache.text(web, [...tasks]), first, 'the same records: the same text');
  // A report replaced one record: the view shows it.
  const reported = [
    tasks[0] ?? task('w0', 'web', 0, 'a'),
    { ...task('w1', 'web', 1, 'b'), observed: running('w1') },
  ];
  const second = cache.text(web, reported);
  assert.notEqual(second, first);
  assert.equal(second, JSON.stringify(serviceView(web, reported)));
  // A scale writes a new service record.
  const scaled = { ...web, spec: { ...web.spec, replicas: 1 } };
  assert.equal(cache.text(scaled, reported), JSON.stringify(serviceView(scaled, reported)));
  cache.text(service('db', 1), []);
  assert.equal(cache.size, 2);
  cache.retain(new Set(['db']));
  assert.equal(cache.size, 1, 'a service no longer listed is forgotten');
});
