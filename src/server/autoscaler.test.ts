/** The autoscaling loop's edges: only the leader scales; a count outside the range is corrected with an event. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createFixture } from '../api/test-fixture.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import { StatsWindow } from '../stats/stats-window.ts';
import { Autoscaler } from './autoscaler.ts';

const f = createFixture();
after(() => f.close());

test('a follower never scales; the leader brings a count outside the range into it, with an event', () => {
  const spec = serviceSpecSchema.parse({
    name: 'web',
    image: 'skiff-demo:v1',
    replicas: 1,
    resources: { cpus: 0.5 },
    autoscale: { min: 3, max: 5, target_cpu_percent: 70 },
  });
  f.store.putService(spec, 1000);
  let leading = false;
  const messages: string[] = [];
  const autoscaler = new Autoscaler({
    store: f.store,
    stats: new StatsWindow(),
    events: { append: (input) => messages.push(input.message) as never },
    now: () => 2000,
    trigger: () => {},
    isLeader: () => leading,
    log: () => {},
  });
  autoscaler.round();
  assert.equal(f.store.getService('web')?.spec.replicas, 1, 'not the leader: nothing changes');
  leading = true;
  autoscaler.round();
  assert.equal(f.store.getService('web')?.spec.replicas, 3);
  assert.deepEqual(messages, ['Autoscaled web from 1 to 3 replica(s): 1 is outside 3–5']);
});
