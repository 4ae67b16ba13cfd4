/**
 * `npm run bench:autoscale`: how the autoscaler answers a load step, the end of the load, and a
 * steady load, on a real engine (`skiff up`, agent stats every second).
 *
 * 1. Load step: a 1-replica service whose replicas burn CPU to their limit (0.2 of a core) with
 *    a 50% target: time from the deploy to the first added replica running, and to the range's
 *    max (3) running.
 * 2. End of load: every replica told to stop burning (`skiff exec`): time to the first scale-in
 *    and to the min (1).
 * 3. Steady load: replicas burning at their limit against a 100% target (inside the tolerance
 *    band): scaling decisions over `--steady` (default 5m). Goal: no flapping, at most one.
 *
 * The window and cool-downs are printed beside the figures. Exits 0 whatever the verdict.
 * Options: --steady DURATION (5m), --window 10s, --cooldown-up 5s, --cooldown-down 20s.
 */
import { parseArgs } from 'node:util';
import { formatDurationMs, parseDurationMs } from '../src/model/duration.ts';
import { eventSchema } from '../src/model/event.ts';
import { serviceViewSchema } from '../src/model/views.ts';
import { eventually } from '../test/support/eventually.ts';
import { SkiffCluster } from '../test/support/skiff-cluster.ts';

const { values } = parseArgs({
  options: {
    steady: { type: 'string', default: '5m' },
    window: { type: 'string', default: '10s' },
    'cooldown-up': { type: 'string', default: '5s' },
    'cooldown-down': { type: 'string', default: '20s' },
  },
});
const policy = {
  window: values.window,
  cooldown_up: values['cooldown-up'],
  cooldown_down: values['cooldown-down'],
};
const burn = ['sh', '-c', 'while [ ! -f /tmp/stop ]; do :; done; exec sleep 100000'];
const skiff = await SkiffCluster.start('up', { serverArgs: ['--stats-interval', '1s'] });

async function view(name: string) {
  return serviceViewSchema.parse((await skiff.api('GET', `/api/services/${name}`)).body);
}
async function deploy(name: string, target: number, replicas: number) {
  const res = await skiff.api('POST', '/api/deploy', {
    name,
    image: 'skiff-demo:v1-noterm',
    replicas,
    command: burn,
    resources: { cpus: 0.2, memory_mb: 64 },
    stop_grace_period: '1s',
    autoscale: { min: 1, max: 3, target_cpu_percent: target, ...policy },
  });
  if (res.status !== 201) throw new Error(`deploy ${name}: ${JSON.stringify(res.body)}`);
}
const waitFor = (what: string, check: () => Promise<boolean>, timeoutMs = 300_000) =>
  eventually(what, async () => ((await check()) ? true : undefined), { timeoutMs, intervalMs: 200 });
const since = (start: number) => formatDurationMs(Date.now() - start);

try {
  console.log(
    `policy: window ${policy.window}, cooldown_up ${policy.cooldown_up}, cooldown_down ${policy.cooldown_down}`,
  );
  const start = Date.now();
  await deploy('step', 50, 1);
  await waitFor('a second replica running', async () => (await view('step')).running >= 2);
  const firstUp = since(start);
  await waitFor('three replicas running', async () => (await view('step')).running === 3);
  console.log(`load step → first added replica running: ${firstUp}; → max (3) running: ${since(start)}`);

  const stopAt = Date.now();
  for (const container of (await view('step')).containers)
    await skiff.cli(['exec', container.name, 'touch', '/tmp/stop']);
  await waitFor('first scale-in', async () => (await view('step')).replicas < 3);
  const firstDown = since(stopAt);
  await waitFor('back to 1', async () => (await view('step')).replicas === 1);
  console.log(`end of load → first scale-in: ${firstDown}; → min (1): ${since(stopAt)}`);
  await skiff.api('DELETE', '/api/services/step');

  const steadyMs = parseDurationMs(values.steady) ?? 300_000;
  await deploy('steady', 100, 2);
  await waitFor('steady running', async () => (await view('steady')).running === 2);
  const steadyStart = Date.now();
  await new Promise((resolve) => setTimeout(resolve, steadyMs));
  const events = eventSchema
    .array()
    .parse((await skiff.api('GET', '/api/events?service=steady&limit=1000')).body);
  const decisions = events.filter(
    (e) => e.message.startsWith('Autoscaled steady') && Date.parse(e.timestamp) >= steadyStart,
  );
  console.log(
    `steady load for ${values.steady} (each replica at its limit, target 100%): ${decisions.length} scaling decision(s) (goal ≤ 1)`,
  );
  for (const d of decisions) console.log(`  ${d.message}`);
} finally {
  await skiff.stop();
}
