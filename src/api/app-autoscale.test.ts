/** Autoscaling at the API: what a policy needs of the spec, and manual scales against its range. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Fixture } from './test-fixture.ts';
import { createFixture, field } from './test-fixture.ts';

const autoscale = { min: 2, max: 5, target_cpu_percent: 70 };

describe('autoscale at the API', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('a CPU target without a CPU limit is refused, naming the field and the fix', async () => {
    const res = await f.call('POST', '/api/deploy', { name: 'web', image: 'skiff-demo:v1', autoscale });
    assert.equal(res.status, 400);
    assert.match(
      String(field(res.body, 'error')),
      /autoscale\.target_cpu_percent: .*no CPU limit \(resources\.cpus\)/,
    );
    const global = await f.call('POST', '/api/deploy', {
      name: 'logs',
      image: 'skiff-demo:v1',
      mode: 'global',
      resources: { cpus: 0.5 },
      autoscale,
    });
    assert.equal(global.status, 400);
    const backwards = await f.call('POST', '/api/deploy', {
      name: 'web',
      image: 'skiff-demo:v1',
      resources: { cpus: 0.5 },
      autoscale: { ...autoscale, min: 6 },
    });
    assert.equal(backwards.status, 400);
    assert.match(JSON.stringify(backwards.body), /min must not exceed max/);
  });

  test('a manual scale inside the range is taken; outside it is refused with the range named', async () => {
    const deployed = await f.call('POST', '/api/deploy', {
      name: 'web',
      image: 'skiff-demo:v1',
      replicas: 2,
      resources: { cpus: 0.5 },
      autoscale,
    });
    assert.equal(deployed.status, 201, deployed.text);
    assert.equal((await f.call('POST', '/api/services/web/scale', { replicas: 4 })).status, 200);
    const outside = await f.call('POST', '/api/services/web/scale', { replicas: 9 });
    assert.equal(outside.status, 400);
    assert.match(String(field(outside.body, 'error')), /autoscaled between 2 and 5; 9 is outside/);
  });
});
