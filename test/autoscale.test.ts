/**
 * Autoscaling on a real engine: a replica burning CPU against its limit makes its service scale
 * out within the window; when the load stops (each replica told to, through `skiff exec`) it
 * scales back in once the cool-down has passed. Each change is an event with its figures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventSchema } from '../src/model/event.ts';
import { type ServiceView, serviceViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let skiff: SkiffCluster;

async function view(): Promise<ServiceView> {
  return serviceViewSchema.parse((await skiff.api('GET', '/api/services/burn')).body);
}

describe('autoscaling on CPU', { timeout: 240_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('up', { serverArgs: ['--stats-interval', '1s'] });
  });
  after(async () => {
    if (process.exitCode) console.error(skiff?.output.slice(-40).join('\n'));
    await skiff?.stop();
  });

  test('a CPU-burning replica scales its service out, and in again after the load and cool-down', async () => {
    const deployed = await skiff.api('POST', '/api/deploy', {
      name: 'burn',
      image: 'skiff-demo:v1-noterm',
      replicas: 1,
      // Burns until told to stop: a core's worth, against a limit of a fifth of one.
      command: ['sh', '-c', 'while [ ! -f /tmp/stop ]; do :; done; exec sleep 100000'],
      resources: { cpus: 0.2, memory_mb: 64 },
      stop_grace_period: '1s',
      autoscale: {
        min: 1,
        max: 3,
        target_cpu_percent: 50,
        window: '10s',
        cooldown_up: '5s',
        cooldown_down: '20s',
      },
    });
    assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
    const out = await eventually(
      'scaled out to 3',
      async () => {
        const v = await view();
        return v.replicas === 3 && v.running === 3 ? v : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const events = eventSchema.array().parse((await skiff.api('GET', '/api/events?service=burn')).body);
    const scaled = events.filter((e) => e.message.startsWith('Autoscaled burn'));
    assert.ok(scaled.length >= 1, JSON.stringify(events.map((e) => e.message)));
    assert.match(
      scaled[0]?.message ?? '',
      /from 1 to [23] replica\(s\): CPU \d+% of the limit per replica \(target 50%\)/,
    );

    for (const container of out.containers) {
      const told = await skiff.cli(['exec', container.name, 'touch', '/tmp/stop']);
      assert.equal(told.code, 0, told.stderr);
    }
    await eventually('scaled back in to 1', async () => (await view()).replicas === 1, {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    const after = eventSchema.array().parse((await skiff.api('GET', '/api/events?service=burn')).body);
    // From 3 straight to 1 on a quiet machine; on a loaded one the window can still hold some of
    // the burn when the cool-down ends, and the way in is then 3 → 2 → 1. Each step names its figures.
    const ins = after.filter((e) => /^Autoscaled burn from [23] to [12] replica/.test(e.message));
    assert.ok(ins.length >= 1, JSON.stringify(after.map((e) => e.message)));
    for (const e of ins) assert.match(e.message, /: CPU \d+% .*for 20s/);
    assert.ok(ins.some((e) => /^Autoscaled burn from 3 to/.test(e.message)));
    assert.ok(ins.some((e) => / to 1 replica/.test(e.message)));
  });
});
