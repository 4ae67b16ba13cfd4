/**
 * `npm run bench:scale`: the spec's scale, 100 containers across 10 hosts, on the multi-host lab
 * (scripts/lab.sh: each host a network namespace with its own dockerd and `skiff agent`) with a
 * real `skiff server` on the lab bridge, at default settings.
 *
 * For each layout (default `4x25,1x100`: four services of 25 replicas posted at once, then one of
 * 100) it times `POST /api/deploy` → all replicas running, verified on the engines (every host's
 * engine polled every 200 ms until the layout's N containers run there) and in the API (every
 * service running N/N). The engines' own event logs, read back afterwards, give the exact
 * create/start times: when the first replica started, when half, 90% and all had, and per host
 * its share, first create and last start. The server's `Scheduled … on …` events give when every
 * replica had a node. Then the layout is deleted and the run waits until its containers are gone.
 *
 * Beside it, the floor: the same number of containers per host created and started straight
 * through each engine's API (dockerode; image, labels, no restart policy), at the agents'
 * concurrency (8 per host), all hosts at once: what the engines alone need. Twice: on the default
 * bridge, and on a user-defined bridge network like the one Skiff attaches its replicas to. CPU
 * time over each run (machine, and per group: dockerd, containerd, agents, server, this process)
 * is read from /proc.
 *
 * Before measuring, a warm-up service (one replica per host) is deployed and removed, so no layout
 * pays an engine's first-container costs. This machine's CPUs are shared by the 10 engines, the
 * agents and the server: container starts are expected to dominate; it reports what it measures.
 *
 * Bounded everywhere; the server (by its handle) and the lab are removed at the end, also on
 * failure or Ctrl-C (a second Ctrl-C exits at once). Exits 0 unless the run itself failed.
 *
 * Options: --hosts N (10), --layouts SxR,... (4x25,1x100), --strategy binpack|spread (the
 * service default, binpack), --no-floor, --no-warmup, --image REF (skiff-demo:v1).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Semaphore } from '../src/agent/semaphore.ts';
import { LABELS } from '../src/docker/container-engine.ts';
import { eventSchema } from '../src/model/event.ts';
import { clusterLabel, forceRemoveAll, waitGone } from './harness/cleanup.ts';
import type { LabSkiff } from './harness/lab-skiff.ts';
import { engineOf, readEngineEvents, runLabBench, waitNodesReady } from './harness/lab-skiff.ts';
import { positiveInt } from './harness/options.ts';
import { CLOCK_TICKS_PER_S, cpuTicks, machineTicks } from './harness/proc.ts';
import { errorText, fmtMs as fmt, out, table } from './harness/report.ts';
import { percentile } from './harness/stats.ts';
import { checkInterrupted, sleep, waitUntil, withDeadline } from './harness/wait.ts';

const POLL_MS = 200;
/** The agent's default engine concurrency (`skiff agent --concurrency`), used for the floor. */
const AGENT_CONCURRENCY = 8;
const LAB_UP_TIMEOUT_MS = 600_000;
const NODES_READY_TIMEOUT_MS = 120_000;
const RUNNING_TIMEOUT_MS = (n: number) => 60_000 + n * 3_000;
const REMOVAL_TIMEOUT_MS = (n: number) => 60_000 + n * 1_000;
const HTTP_TIMEOUT_MS = 30_000;

const STRATEGIES = ['binpack', 'spread'] as const;
type Strategy = (typeof STRATEGIES)[number];

interface Layout {
  readonly services: number;
  readonly replicas: number;
}

interface Options {
  readonly hosts: number;
  readonly layouts: readonly Layout[];
  readonly strategy: Strategy | undefined;
  readonly floor: boolean;
  readonly warmup: boolean;
  readonly image: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      hosts: { type: 'string', default: '10' },
      layouts: { type: 'string', default: '4x25,1x100' },
      strategy: { type: 'string' },
      floor: { type: 'boolean', default: true },
      warmup: { type: 'boolean', default: true },
      image: { type: 'string', default: 'skiff-demo:v1' },
    },
    allowNegative: true,
    strict: true,
  });
  const layouts = values.layouts.split(',').map((text): Layout => {
    const match = /^\s*(\d+)x(\d+)\s*$/.exec(text);
    if (!match) throw new Error(`--layouts: expected SERVICESxREPLICAS like 4x25, got ${text}`);
    return {
      services: positiveInt('layouts', match[1] ?? '', 20),
      replicas: positiveInt('layouts', match[2] ?? '', 500),
    };
  });
  let strategy: Strategy | undefined;
  if (values.strategy !== undefined) {
    strategy = STRATEGIES.find((s) => s === values.strategy);
    if (!strategy) throw new Error(`--strategy: binpack or spread, got ${values.strategy}`);
  }
  return {
    hosts: positiveInt('hosts', values.hosts, 32),
    layouts,
    strategy,
    floor: values.floor,
    warmup: values.warmup,
    image: values.image,
  };
}

const secs = (ms: number | undefined) =>
  ms !== undefined && Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '-';

// --- CPU --------------------------------------------------------------------------------------

/** utime + stime of a process in ticks; 0 when it is gone. */
function processTicks(pid: number): number {
  try {
    return cpuTicks(pid);
  } catch {
    return 0;
  }
}

function pidFrom(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const CPU_GROUPS = ['dockerd', 'containerd', 'agents', 'server', 'bench'] as const;
type CpuGroup = (typeof CPU_GROUPS)[number];

/** The lab's long-lived processes by group (pidfiles of scripts/lab.sh), and the server. */
function cpuPids(bench: Bench): Map<CpuGroup, number[]> {
  const groups = new Map<CpuGroup, number[]>(CPU_GROUPS.map((g) => [g, []]));
  for (const host of bench.hosts) {
    const dir = `/run/skiff-lab/h${host}`;
    const add = (group: CpuGroup, pid: number | undefined) => {
      if (pid !== undefined) groups.get(group)?.push(pid);
    };
    add('dockerd', pidFrom(`${dir}/docker.pid`));
    add('containerd', pidFrom(`${dir}/exec/containerd/containerd.pid`));
    add('agents', pidFrom(`${dir}/agent.pid`));
  }
  if (bench.skiff.server?.pid !== undefined) groups.get('server')?.push(bench.skiff.server.pid);
  groups.get('bench')?.push(process.pid);
  return groups;
}

interface CpuSample {
  readonly at: number;
  readonly machine: { busy: number; total: number };
  readonly groups: Map<CpuGroup, number>;
}

function sampleCpu(pids: Map<CpuGroup, number[]>): CpuSample {
  const groups = new Map<CpuGroup, number>();
  for (const [group, list] of pids)
    groups.set(
      group,
      list.reduce((n, pid) => n + processTicks(pid), 0),
    );
  return { at: Date.now(), machine: machineTicks(), groups };
}

/** "machine 97% busy of 2 CPUs; dockerd 10.1 s, …" between two samples. */
function cpuText(from: CpuSample, to: CpuSample): string {
  const busy = to.machine.busy - from.machine.busy;
  const totalTicks = to.machine.total - from.machine.total;
  const seconds = (ticks: number) => `${(ticks / CLOCK_TICKS_PER_S).toFixed(1)} s`;
  let known = 0;
  const parts = CPU_GROUPS.map((group) => {
    const ticks = (to.groups.get(group) ?? 0) - (from.groups.get(group) ?? 0);
    known += ticks;
    return `${group} ${seconds(ticks)}`;
  });
  parts.push(
    `everything else (shims, runc, iptables, containers, kernel) ${seconds(Math.max(0, busy - known))}`,
  );
  const pct = totalTicks > 0 ? ((busy / totalTicks) * 100).toFixed(0) : '-';
  return `${seconds(busy)} CPU in ${secs(to.at - from.at)} wall (${pct}% of ${cpus().length} CPUs busy): ${parts.join(', ')}`;
}

interface Bench extends LabSkiff {
  readonly options: Options;
}

/** Host → service → running containers, for `services`, straight from every engine. */
async function runningByHost(
  bench: Bench,
  services: ReadonlySet<string>,
): Promise<Map<number, Map<string, number>>> {
  const rows = await Promise.all(
    bench.hosts.map(async (host) => {
      const list = await engineOf(bench, host).listContainers({
        filters: { label: [`${LABELS.cluster}=${bench.skiff.clusterId}`], status: ['running'] },
      });
      const counts = new Map<string, number>();
      for (const c of list) {
        const service = c.Labels[LABELS.service] ?? '';
        if (services.has(service)) counts.set(service, (counts.get(service) ?? 0) + 1);
      }
      return [host, counts] as const;
    }),
  );
  return new Map(rows);
}

const total = (byHost: Map<number, Map<string, number>>) =>
  [...byHost.values()].reduce((n, counts) => n + [...counts.values()].reduce((a, b) => a + b, 0), 0);

async function deleteServices(bench: Bench, names: readonly string[], replicas: number): Promise<number> {
  const start = Date.now();
  await Promise.all(names.map((name) => bench.api.request('DELETE', `/api/services/${name}`)));
  await waitGone(
    bench.engines,
    [clusterLabel(bench.skiff.clusterId)],
    `the containers of ${names.join(', ')} to be removed`,
    {
      timeoutMs: REMOVAL_TIMEOUT_MS(replicas),
      intervalMs: 500,
    },
  );
  return Date.now() - start;
}

// --- one layout -----------------------------------------------------------------------------

interface LayoutResult {
  readonly label: string;
  readonly total: number;
  readonly postMs: number;
  readonly scheduledMs: number | undefined;
  readonly firstStartMs: number | undefined;
  readonly halfMs: number | undefined;
  readonly p90Ms: number | undefined;
  readonly lastStartMs: number | undefined;
  readonly enginesMs: number;
  readonly apiMs: number;
  readonly removeMs: number;
  /** host → service → running, when all ran. */
  readonly spread: Map<number, Map<string, number>>;
  readonly perHost: Map<number, HostTimes>;
  /** Per container: its create event → its start event (ms), median and max. */
  readonly createToStartMs: { median: number; max: number };
  readonly cpu: string;
  readonly services: readonly string[];
}

/** One host's engine events of a layout, in ms from the POST. */
interface HostTimes {
  readonly firstCreate: number | undefined;
  readonly lastCreate: number | undefined;
  readonly firstStart: number | undefined;
  readonly lastStart: number | undefined;
}

async function deployAll(bench: Bench, names: readonly string[], replicas: number): Promise<void> {
  const { image, strategy } = bench.options;
  await Promise.all(
    names.map((name) =>
      bench.api.request('POST', '/api/deploy', {
        name,
        image,
        replicas,
        ...(strategy === undefined ? {} : { placement: { strategy } }),
      }),
    ),
  );
}

async function runLayout(bench: Bench, layout: Layout, index: number): Promise<LayoutResult> {
  const { api, skiff } = bench;
  const names = Array.from({ length: layout.services }, (_, s) => `scale-${index}-${s + 1}`);
  const wanted = new Set(names);
  const n = layout.services * layout.replicas;
  const label = `${layout.services} × ${layout.replicas}`;

  const pids = cpuPids(bench);
  const cpuBefore = sampleCpu(pids);
  const t0 = Date.now();
  await deployAll(bench, names, layout.replicas);
  const postMs = Date.now() - t0;

  let enginesAt: number | undefined;
  let apiAt: number | undefined;
  let spread = new Map<number, Map<string, number>>();
  let lastSeen = 0;
  let lastReport = Date.now();
  await waitUntil(
    `${label}: ${n} replicas running on the engines and in the API`,
    RUNNING_TIMEOUT_MS(n),
    POLL_MS,
    async () => {
      const [byHost, views] = await Promise.all([
        enginesAt === undefined ? runningByHost(bench, wanted) : Promise.resolve(undefined),
        apiAt === undefined ? api.services() : Promise.resolve(undefined),
      ]);
      const now = Date.now();
      if (byHost) {
        lastSeen = total(byHost);
        if (lastSeen === n) {
          enginesAt = now;
          spread = byHost;
        }
      }
      if (views) {
        const mine = views.filter((v) => wanted.has(v.name));
        if (
          mine.length === names.length &&
          mine.every((v) => v.status === 'running' && v.running === layout.replicas)
        )
          apiAt = now;
      }
      if (now - lastReport >= 5000) {
        lastReport = now;
        out(`    ${label}: ${lastSeen}/${n} running on the engines after ${secs(now - t0)}`);
      }
      return enginesAt !== undefined && apiAt !== undefined ? true : undefined;
    },
  );
  const cpu = cpuText(cpuBefore, sampleCpu(pids));
  const enginesMs = (enginesAt ?? Number.NaN) - t0;
  const apiMs = (apiAt ?? Number.NaN) - t0;

  // Exact times: the engines' event logs and the server's scheduling events.
  const until = Date.now() + 1000;
  await sleep(1000);
  const engineLog = (
    await Promise.all(
      bench.hosts.map((host) =>
        readEngineEvents(engineOf(bench, host), host, [clusterLabel(skiff.clusterId)], t0, until, 30_000),
      ),
    )
  )
    .flat()
    .filter((e) => wanted.has(e.service));
  const starts = engineLog.filter((e) => e.action === 'start').map((e) => e.at - t0);
  const perHost = new Map<number, HostTimes>();
  for (const host of bench.hosts) {
    const mine = engineLog.filter((e) => e.host === host);
    const creates = mine.filter((e) => e.action === 'create').map((e) => e.at - t0);
    const hostStarts = mine.filter((e) => e.action === 'start').map((e) => e.at - t0);
    perHost.set(host, {
      firstCreate: creates.length > 0 ? Math.min(...creates) : undefined,
      lastCreate: creates.length > 0 ? Math.max(...creates) : undefined,
      firstStart: hostStarts.length > 0 ? Math.min(...hostStarts) : undefined,
      lastStart: hostStarts.length > 0 ? Math.max(...hostStarts) : undefined,
    });
  }
  const createdAt = new Map(engineLog.filter((e) => e.action === 'create').map((e) => [e.id, e.at]));
  const gaps = engineLog
    .filter((e) => e.action === 'start' && createdAt.has(e.id))
    .map((e) => e.at - (createdAt.get(e.id) ?? e.at));
  const events = z.array(eventSchema).parse(await api.request('GET', '/api/events?limit=10000'));
  const scheduled = events
    .filter((e) => e.type === 'schedule' && e.service !== null && wanted.has(e.service))
    .filter((e) => e.message.startsWith('Scheduled '))
    .map((e) => Date.parse(e.timestamp) - t0)
    .filter((ms) => ms >= 0);

  const removeMs = await deleteServices(bench, names, n);
  return {
    label,
    total: n,
    postMs,
    scheduledMs: scheduled.length >= n ? Math.max(...scheduled) : undefined,
    firstStartMs: starts.length > 0 ? Math.min(...starts) : undefined,
    halfMs: starts.length >= n ? percentile(starts, 50) : undefined,
    p90Ms: starts.length >= n ? percentile(starts, 90) : undefined,
    lastStartMs: starts.length >= n ? Math.max(...starts) : undefined,
    enginesMs,
    apiMs,
    removeMs,
    spread,
    perHost,
    createToStartMs: {
      median: gaps.length > 0 ? percentile(gaps, 50) : Number.NaN,
      max: gaps.length > 0 ? Math.max(...gaps) : Number.NaN,
    },
    cpu,
    services: names,
  };
}

// --- the floor ------------------------------------------------------------------------------

/** Where the floor's containers attach: the engine's default bridge, or a user-defined bridge as Skiff's do. */
type FloorNetwork = 'default bridge' | 'user-defined bridge';

interface FloorResult {
  readonly network: FloorNetwork;
  readonly cpu: string;
  readonly total: number;
  readonly ms: number;
  readonly halfMs: number;
  readonly p90Ms: number;
  readonly perHostLastMs: Map<number, number>;
}

/**
 * `perHost` containers created and started on each host straight through its engine, on the
 * default bridge or on a user-defined bridge network made for the run (Skiff attaches its
 * replicas to one; such networks give containers the engine's embedded DNS).
 */
async function runFloor(
  bench: Bench,
  perHost: ReadonlyMap<number, number>,
  network: FloorNetwork,
): Promise<FloorResult> {
  const rawCluster = `skiff-bench-raw-${randomUUID().slice(0, 8)}`;
  const labels = [`${LABELS.cluster}=${rawCluster}`];
  const networkName = network === 'default bridge' ? undefined : rawCluster;
  if (networkName !== undefined) {
    await Promise.all(
      bench.hosts.map((host) =>
        engineOf(bench, host).createNetwork({
          Name: networkName,
          Driver: 'bridge',
          Labels: { [LABELS.cluster]: rawCluster },
        }),
      ),
    );
  }
  const n = [...perHost.values()].reduce((a, b) => a + b, 0);
  const starts: number[] = [];
  const perHostLastMs = new Map<number, number>();
  const pids = cpuPids(bench);
  const cpuBefore = sampleCpu(pids);
  const t0 = Date.now();
  let cpu = '';
  try {
    await withDeadline(
      `raw create+start of ${n} containers`,
      RUNNING_TIMEOUT_MS(n),
      Promise.all(
        bench.hosts.map(async (host) => {
          const docker = engineOf(bench, host);
          const semaphore = new Semaphore(AGENT_CONCURRENCY);
          await Promise.all(
            Array.from({ length: perHost.get(host) ?? 0 }, (_, slot) =>
              semaphore.run(async () => {
                checkInterrupted();
                const container = await docker.createContainer({
                  name: `${rawCluster}-h${host}-${slot}`,
                  Image: bench.options.image,
                  Labels: {
                    [LABELS.cluster]: rawCluster,
                    [LABELS.service]: 'raw',
                    [LABELS.slot]: String(slot),
                  },
                  HostConfig: {
                    RestartPolicy: { Name: 'no' },
                    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
                    ...(networkName === undefined ? {} : { NetworkMode: networkName }),
                  },
                });
                await container.start();
                const at = Date.now() - t0;
                starts.push(at);
                perHostLastMs.set(host, Math.max(perHostLastMs.get(host) ?? 0, at));
              }),
            ),
          );
        }),
      ),
    );
    cpu = cpuText(cpuBefore, sampleCpu(pids));
  } finally {
    await removeRaw(bench, labels, networkName).catch((error: unknown) =>
      process.stderr.write(`removing the floor's containers: ${errorText(error)}\n`),
    );
  }
  return {
    network,
    cpu,
    total: n,
    ms: Math.max(...starts),
    halfMs: percentile(starts, 50),
    p90Ms: percentile(starts, 90),
    perHostLastMs,
  };
}

async function removeRaw(
  bench: Bench,
  labels: readonly string[],
  network: string | undefined,
): Promise<void> {
  await Promise.all(
    bench.hosts.map((host) => forceRemoveAll(engineOf(bench, host), labels, AGENT_CONCURRENCY)),
  );
  await waitGone(bench.engines, labels, "the floor's containers to be removed", {
    timeoutMs: 120_000,
    intervalMs: 500,
  });
  if (network !== undefined) {
    await Promise.all(
      bench.hosts.map((host) =>
        engineOf(bench, host)
          .getNetwork(network)
          .remove()
          .catch(() => {}),
      ),
    );
  }
}

// --- reporting ------------------------------------------------------------------------------

function reportLayout(bench: Bench, r: LayoutResult): void {
  out();
  out(`Layout ${r.label} (${r.total} replicas): ms from the first POST /api/deploy`);
  out(
    table(
      ['step', 'ms'],
      [
        ['POSTs answered', fmt(r.postMs)],
        ['every replica scheduled (server events)', fmt(r.scheduledMs)],
        ['first replica started (engine events)', fmt(r.firstStartMs)],
        ['50% started', fmt(r.halfMs)],
        ['90% started', fmt(r.p90Ms)],
        ['all started (last engine start event)', fmt(r.lastStartMs)],
        [`all ${r.total} running, verified on the engines (${POLL_MS} ms poll)`, fmt(r.enginesMs)],
        ['all services running N/N in the API', fmt(r.apiMs)],
        ['(then) delete → all containers removed', fmt(r.removeMs)],
      ],
    ),
  );
  out();
  out(`  CPU, POST → all running: ${r.cpu}`);
  out(
    `  each container's create → its start (engine events): median ${fmt(r.createToStartMs.median)} ms, max ${fmt(r.createToStartMs.max)} ms`,
  );
  out();
  out('  spread over the hosts (running replicas per service) and their engine events in ms from the POST:');
  const header = ['host', ...r.services, 'total', 'first create', 'last create', 'first start', 'last start'];
  const rows = bench.hosts.map((host) => {
    const counts = r.spread.get(host) ?? new Map<string, number>();
    const times = r.perHost.get(host);
    return [
      `h${host}`,
      ...r.services.map((s) => String(counts.get(s) ?? 0)),
      String([...counts.values()].reduce((a, b) => a + b, 0)),
      fmt(times?.firstCreate),
      fmt(times?.lastCreate),
      fmt(times?.firstStart),
      fmt(times?.lastStart),
    ];
  });
  out(
    table(header, rows)
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
  );
}

// --- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await runLabBench('scale', async (session) => {
    const layoutsText = options.layouts.map((l) => `${l.services}×${l.replicas}`).join(', ');
    out(
      `Skiff scale benchmark: ${options.hosts} lab hosts on ${cpus().length} CPU(s), layouts ${layoutsText},`,
    );
    out(
      `  placement ${options.strategy ?? 'default (binpack)'}, image ${options.image}, agent concurrency ${AGENT_CONCURRENCY} (default).`,
    );
    const upStart = Date.now();
    const labSkiff = await session.up(options.hosts, {
      labUpTimeoutMs: LAB_UP_TIMEOUT_MS,
      httpTimeoutMs: HTTP_TIMEOUT_MS,
    });
    const { api, skiff, labUpMs } = labSkiff;
    const bench: Bench = { ...labSkiff, options };
    await waitNodesReady(bench, `${options.hosts} ready nodes`, NODES_READY_TIMEOUT_MS, 200);
    out(
      `  lab up in ${secs(labUpMs)}; server on ${skiff.url}; ${options.hosts} agents ready after ${secs(Date.now() - upStart)}`,
    );

    if (options.warmup) {
      const name = 'scale-warmup';
      await api.request('POST', '/api/deploy', {
        name,
        image: options.image,
        replicas: options.hosts,
        placement: { strategy: 'spread' },
      });
      await waitUntil('the warm-up replicas to run', RUNNING_TIMEOUT_MS(options.hosts), POLL_MS, async () =>
        total(await runningByHost(bench, new Set([name]))) === options.hosts ? true : undefined,
      );
      await deleteServices(bench, [name], options.hosts);
      out(`  warm-up: ${options.hosts} replicas (one per host) deployed and removed`);
    }

    const results: LayoutResult[] = [];
    for (const [i, layout] of options.layouts.entries()) {
      checkInterrupted();
      out(`  deploying ${layout.services} × ${layout.replicas} …`);
      const result = await runLayout(bench, layout, i + 1);
      results.push(result);
      reportLayout(bench, result);
    }

    const floors: FloorResult[] = [];
    const last = results.at(-1);
    if (options.floor && last) {
      out();
      const perHost = new Map(
        bench.hosts.map((host) => [
          host,
          [...(last.spread.get(host)?.values() ?? [])].reduce((a, b) => a + b, 0),
        ]),
      );
      for (const network of ['default bridge', 'user-defined bridge'] as const) {
        checkInterrupted();
        out(
          `  floor: ${last.total} containers straight through the engines (${network}), same count per host as ${last.label} …`,
        );
        floors.push(await runFloor(bench, perHost, network));
      }
    }
    // Skiff is compared with the floor on a network like its own.
    const floor = floors.at(-1);

    out();
    out('Summary (ms from the first POST /api/deploy to all running, verified on the engines):');
    const rows: string[][] = results.map((r) => [
      `Skiff ${r.label}`,
      String(r.total),
      fmt(r.scheduledMs),
      fmt(r.firstStartMs),
      fmt(r.halfMs),
      fmt(r.lastStartMs),
      fmt(r.enginesMs),
      fmt(r.apiMs),
      floor && r.lastStartMs !== undefined ? `${(r.lastStartMs / floor.ms).toFixed(2)}×` : '',
    ]);
    for (const f of floors) {
      rows.push([
        `floor, ${f.network}`,
        String(f.total),
        '',
        '',
        fmt(f.halfMs),
        fmt(f.ms),
        '',
        '',
        floor ? `${(f.ms / floor.ms).toFixed(2)}×` : '',
      ]);
    }
    out(
      table(
        [
          'run',
          'replicas',
          'scheduled',
          '1st start',
          '50%',
          'all started',
          'engines',
          'API',
          'vs user-bridge floor',
        ],
        rows,
      ),
    );
    const rate = (count: number, ms: number | undefined) =>
      ms !== undefined && ms > 0 ? `${((count / ms) * 1000).toFixed(1)}/s` : '-';
    for (const r of results)
      out(`  ${r.label}: ${rate(r.total, r.lastStartMs)} containers started overall (engine events)`);
    for (const f of floors) {
      out(
        `  floor, ${f.network}: ${rate(f.total, f.ms)} (dockerode create+start, ${AGENT_CONCURRENCY} at once per host, all hosts at once)`,
      );
      out(`    CPU: ${f.cpu}`);
    }
    for (const r of results) out(`  Skiff ${r.label} CPU: ${r.cpu}`);
  });
}

await main();
