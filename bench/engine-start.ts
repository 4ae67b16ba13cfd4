/**
 * `npm run bench:engine-start`: where a replacement's start goes on the engine, with no Skiff in
 * the way. Creates and starts one container per variant, interleaved: the floor (the run's own
 * user-defined bridge), each thing a Skiff replica adds to it (resolver settings, an alias, the
 * image's port published through docker-proxy, all of them), other networks (Docker's default
 * bridge, none), the full body started while another container is being killed (its teardown runs
 * meanwhile, as in a heal), and beside an iptables-save/restore (the data plane's apply). Beside
 * them: `docker start` of a killed container (a restart in place, which must first wait for the
 * engine to tear the dead one down). The engine's own restart policy is no floor to compare: it
 * waits 100 ms before a restart, doubling while the container ran under 10 s. Times the create and start calls (start returns once the process
 * runs). Removes what it made.
 *
 * Options: --trials N (10), --image REF (skiff-demo:v1).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { LABELS } from '../src/docker/container-engine.ts';
import { fmtMs as fmt, out, runMain, table } from './harness/report.ts';
import { median } from './harness/stats.ts';

interface Variant {
  readonly name: string;
  readonly body: (net: string, id: string) => Record<string, unknown>;
}

function variants(image: string, label: string): Variant[] {
  const base = (
    net: string,
    extra: { host?: Record<string, unknown>; body?: Record<string, unknown> } = {},
  ) => ({
    Image: image,
    Labels: { [LABELS.cluster]: label },
    StopTimeout: 10,
    ...extra.body,
    HostConfig: {
      NetworkMode: net,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      ...extra.host,
    },
  });
  const port = {
    body: { ExposedPorts: { '8080/tcp': {} } },
    host: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  };
  return [
    { name: 'floor', body: (net) => base(net) },
    { name: 'network none', body: () => base('none') },
    { name: 'default bridge', body: () => base('bridge') },
    {
      name: '+ Dns, DnsSearch',
      body: (net) => base(net, { host: { Dns: ['192.168.252.1'], DnsSearch: ['skiff'] } }),
    },
    {
      name: '+ alias',
      body: (net) => ({
        ...base(net),
        NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: ['x-0'] } } },
      }),
    },
    { name: '+ 8080 published (docker-proxy)', body: (net) => base(net, port) },
    {
      name: 'all of the above',
      body: (net) => ({
        ...base(net, {
          body: port.body,
          host: { ...port.host, Dns: ['192.168.252.1'], DnsSearch: ['skiff'] },
        }),
        Hostname: 'x-0',
        NetworkingConfig: { EndpointsConfig: { [net]: { Aliases: ['x-0'] } } },
      }),
    },
  ];
}

function sh(command: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', () => resolve());
    child.stdin?.end(input);
  });
}

/** What one data-plane apply runs: two saves, then a restore of a chain of our own. */
async function iptablesRound(): Promise<void> {
  await sh('iptables-save', ['-t', 'nat']);
  await sh('iptables-save', ['-t', 'filter']);
  await sh(
    'iptables-restore',
    ['--noflush', '--wait'],
    '*nat\n:SKIFF-STARTCOST - [0:0]\n-F SKIFF-STARTCOST\n-X SKIFF-STARTCOST\nCOMMIT\n',
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '10' },
      image: { type: 'string', default: 'skiff-demo:v1' },
    },
  });
  const trials = Number(values.trials);
  const docker = new Docker();
  const label = `skiff-startcost-${randomUUID().slice(0, 8)}`;
  const net = `${label}-net`;
  await docker.createNetwork({
    Name: net,
    Driver: 'bridge',
    IPAM: { Config: [{ Subnet: '192.168.252.0/24' }] },
    Labels: { [LABELS.cluster]: label },
  });
  const all = variants(values.image, label);
  const times = new Map<string, { create: number[]; start: number[] }>();
  const record = (name: string, create: number, start: number) => {
    const t = times.get(name) ?? { create: [], start: [] };
    t.create.push(create);
    t.start.push(start);
    times.set(name, t);
  };
  // A container to kill and start again in place.
  const keeper = await docker.createContainer({ ...all.at(-1)?.body(net, 'k'), name: `${label}-keep` });
  await keeper.start();
  try {
    for (let trial = 0; trial <= trials; trial++) {
      const order = trial % 2 === 0 ? all : [...all].reverse();
      for (const v of order) {
        const t0 = performance.now();
        const c = await docker.createContainer({
          ...v.body(net, String(trial)),
          name: `${label}-${trial}-${all.indexOf(v)}`,
        });
        const t1 = performance.now();
        await c.start();
        const t2 = performance.now();
        if (trial > 0) record(v.name, t1 - t0, t2 - t1);
        await c.remove({ force: true, v: true });
      }
      await keeper.kill({ signal: 'SIGKILL' });
      await keeper.wait();
      const t3 = performance.now();
      await keeper.start();
      const t4 = performance.now();
      if (trial > 0) record('docker start of the killed one', 0, t4 - t3);
      // The full body started while the keeper is being killed (its teardown runs meanwhile).
      {
        const body = all.at(-1)?.body(net, 'c') ?? {};
        const killing = keeper.kill({ signal: 'SIGKILL' });
        const t5 = performance.now();
        const c = await docker.createContainer({ ...body, name: `${label}-${trial}-kill` });
        const t6 = performance.now();
        await c.start();
        const t7 = performance.now();
        await killing;
        if (trial > 0) record('all, while another is killed', t6 - t5, t7 - t6);
        await c.remove({ force: true, v: true });
        await keeper.start();
      }
      // The full body started while iptables-save and a no-op restore run (the data plane's apply).
      {
        const body = all.at(-1)?.body(net, 'i') ?? {};
        const t5 = performance.now();
        const busy = iptablesRound();
        const c = await docker.createContainer({ ...body, name: `${label}-${trial}-ipt` });
        const t6 = performance.now();
        await c.start();
        const t7 = performance.now();
        await busy;
        if (trial > 0) record('all, beside iptables-save/restore', t6 - t5, t7 - t6);
        await c.remove({ force: true, v: true });
      }
    }
    out(`start cost, ${trials} trials each, interleaved (median ms)`);
    out(
      table(
        ['variant', 'create', 'start', 'total'],
        [...times].map(([name, t]) => [
          name,
          fmt(median(t.create)),
          fmt(median(t.start)),
          fmt(median(t.create.map((c, i) => c + (t.start[i] ?? 0)))),
        ]),
      ),
    );
  } finally {
    await keeper.remove({ force: true, v: true });
    await docker.getNetwork(net).remove();
  }
}

runMain('bench:engine-start', main);
