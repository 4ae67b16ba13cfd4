/**
 * `npm run bench:engine-stop`: where the engine's time goes when N containers whose PID 1 ignores
 * SIGTERM are taken down at the end of their grace period. The grace itself is a wait; what
 * follows it is the engine's: SIGKILL, exit, teardown (network endpoint, published ports,
 * mounts), then removal of the record. Each variant starts N containers, then at once either
 * kills them all (as a stop's grace end does) and removes each once it has exited, with a bound
 * on removals at once, or removes them all with `rm -f` (kill + remove in one call). Times kill →
 * all exited and → all removed. Removes what it made.
 *
 * Options: --containers N (100), --image REF (skiff-demo:v1-noterm), --only a,b (all variants).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { Semaphore } from '../src/agent/semaphore.ts';
import { LABELS } from '../src/docker/container-engine.ts';
import { fmtMs as fmt, out, runMain, table } from './harness/report.ts';

interface Variant {
  readonly name: string;
  readonly published: boolean;
  /** 'kill': kill all, remove each once exited (bounded); 'rm-f': force-remove all at once. */
  readonly how: 'kill' | 'rm-f' | 'stop';
  readonly removals: number;
  /** The container's network: the run's own user-defined bridge (default), Docker's default bridge, or none. */
  readonly network?: 'bridge' | 'none';
}

const VARIANTS: Variant[] = [
  { name: 'kill all, rm 8 at once', published: true, how: 'kill', removals: 8 },
  { name: 'kill all, rm 2 at once', published: true, how: 'kill', removals: 2 },
  { name: 'kill all, rm all at once', published: true, how: 'kill', removals: 1000 },
  { name: 'rm -f all at once', published: true, how: 'rm-f', removals: 1000 },
  { name: 'kill all, rm 8 at once, no published port', published: false, how: 'kill', removals: 8 },
  { name: 'stop -t 0 each, then rm (8)', published: true, how: 'stop', removals: 8 },
  { name: 'kill all, rm 8, default bridge', published: false, how: 'kill', removals: 8, network: 'bridge' },
  { name: 'kill all, rm 8, network none', published: false, how: 'kill', removals: 8, network: 'none' },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      containers: { type: 'string', default: '100' },
      image: { type: 'string', default: 'skiff-demo:v1-noterm' },
      only: { type: 'string', default: '' },
    },
  });
  const n = Number(values.containers);
  const picked =
    values.only === '' ? VARIANTS : values.only.split(',').flatMap((i) => VARIANTS[Number(i)] ?? []);
  const docker = new Docker();
  const label = `skiff-stopcost-${randomUUID().slice(0, 8)}`;
  const net = `${label}-net`;
  await docker.createNetwork({
    Name: net,
    Driver: 'bridge',
    IPAM: { Config: [{ Subnet: '192.168.253.0/24' }] },
    Labels: { [LABELS.cluster]: label },
  });
  const rows: string[][] = [];
  try {
    for (const v of picked) {
      const create = new Semaphore(8);
      const containers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          create.run(async () => {
            const c = await docker.createContainer({
              name: `${label}-${i}`,
              Image: values.image,
              Labels: { [LABELS.cluster]: label },
              StopTimeout: 10,
              ...(v.published ? { ExposedPorts: { '8080/tcp': {} } } : {}),
              HostConfig: {
                NetworkMode: v.network ?? net,
                RestartPolicy: { Name: 'no' },
                ...(v.published
                  ? { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } }
                  : {}),
              },
            });
            await c.start();
            return c;
          }),
        ),
      );
      const removals = new Semaphore(v.removals);
      const exited: number[] = [];
      const removed: number[] = [];
      const t0 = performance.now();
      await Promise.all(
        containers.map(async (c) => {
          if (v.how === 'rm-f') {
            await c.remove({ force: true, v: true });
            removed.push(performance.now() - t0);
            return;
          }
          if (v.how === 'kill') await c.kill({ signal: 'SIGKILL' });
          else await c.stop({ t: 0 });
          await c.wait({ condition: 'not-running' }).catch(() => {});
          exited.push(performance.now() - t0);
          await removals.run(() => c.remove({ force: true, v: true }));
          removed.push(performance.now() - t0);
        }),
      );
      const last = (xs: number[]) => (xs.length === 0 ? Number.NaN : Math.max(...xs));
      rows.push([v.name, fmt(last(exited)), fmt(last(removed))]);
      out(`${v.name}: all exited ${fmt(last(exited))} ms, all removed ${fmt(last(removed))} ms`);
    }
    out(`\n${n} containers of ${values.image}, from the kill (ms):`);
    out(table(['variant', 'all exited', 'all removed'], rows));
  } finally {
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.cluster}=${label}`] },
    });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    await docker.getNetwork(net).remove();
  }
}

runMain('bench:engine-stop', main);
