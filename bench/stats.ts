/**
 * `npm run bench:stats`: what sampling resource usage costs, on the local engine.
 *
 * 1. Three ways to sample N running containers every 5 s, each in a worker process of its own
 *    (its CPU from /proc/<pid>/stat, its peak RSS), with the engine's own CPU (dockerd's
 *    /proc/<pid>/stat) over the same window, against an idle worker as the baseline:
 *    - `oneshot`: the agent's real sampler (src/agent/stats-sampler.ts over
 *      stats-docker-usage.ts): `GET /containers/{id}/stats?stream=false&one-shot=true`, four at
 *      a time, per container per interval;
 *    - `stream`: one `stats` stream per container (the engine pushes every second; the worker
 *      parses each push and keeps the latest);
 *    - `cgroup`: the cgroup files (cpuacct, memory, blkio, pids; v1 or v2) and
 *      /proc/<pid>/net/dev of each container, read by the worker itself.
 *    Every worker builds and serializes the same `stats` message each interval.
 * 2. The real agent (`bin/skiff agent`, its own process) running N replicas of a
 *    service (no health check) with `--stats-interval 5s`, then restarted with `--stats-interval
 *    1h` (one sample at start, none in the window) for the baseline: the difference is what
 *    stats cost the agent.
 *
 * Containers are created with a label of this run only and removed at the end (also on Ctrl-C).
 * Exits 0 whatever the figures: it is a measurement. Run it under the Docker lock.
 *
 * Options: --containers N (100), --window DURATION (30s), --interval DURATION (5s),
 * --only methods,agent (both), --image REF (skiff-demo:v1), --plain-node (the agent as `node
 * src/cli/main.ts agent`: without bin/skiff's Node options, MALLOC_ARENA_MAX=2 and compile cache),
 * --agent-command PATH (the `skiff` the agent runs as, bin/skiff by default: dist/skiff for the
 * single executable, which gets MALLOC_ARENA_MAX=2 as its systemd unit gives it), --smaps-dir DIR
 * (the agent's /proc/PID/smaps at each window's end, as agent-N-INTERVAL.smaps).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { Semaphore } from '../src/agent/semaphore.ts';
import { parseDurationMs } from '../src/model/duration.ts';
import type { RunningServer } from '../src/server/skiff-server.ts';
import { forceRemoveAll, listLabelled, removeClusterNetworks, sweepClusters } from './harness/cleanup.ts';
import { InProcessSkiff } from './harness/in-process-skiff.ts';
import { integerOption } from './harness/options.ts';
import { CLOCK_TICKS_PER_S, cpuTicks, rssBytes, rssParts } from './harness/proc.ts';
import { out, runMain, table } from './harness/report.ts';
import { abortOnSignals, checkInterrupted, sleep, waitUntil, withDeadline } from './harness/wait.ts';

const REPO_ROOT = dirname(import.meta.dirname);
const METHODS = ['idle', 'oneshot', 'stream', 'cgroup'] as const;
type Method = (typeof METHODS)[number];
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Parent

interface Options {
  readonly containers: number;
  readonly windowMs: number;
  readonly intervalMs: number;
  readonly only: ReadonlySet<string>;
  readonly image: string;
  /** The agent as plain `node src/cli/main.ts agent` (how it ran before bin/skiff's settings). */
  readonly plainNode: boolean;
  /** The `skiff` executable to run the agent with (`PATH agent …`). */
  readonly agentCommand: string;
  /** Where to copy the agent's /proc/PID/smaps at each window's end (what its RSS is made of). */
  readonly smapsDir: string | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      containers: { type: 'string', default: '100' },
      window: { type: 'string', default: '30s' },
      interval: { type: 'string', default: '5s' },
      only: { type: 'string', default: 'methods,agent' },
      image: { type: 'string', default: 'skiff-demo:v1' },
      'plain-node': { type: 'boolean', default: false },
      'agent-command': { type: 'string', default: join(REPO_ROOT, 'bin/skiff') },
      'smaps-dir': { type: 'string' },
    },
  });
  const windowMs = parseDurationMs(values.window);
  const intervalMs = parseDurationMs(values.interval);
  if (windowMs === undefined || windowMs < 5000)
    throw new Error(`--window: at least 5s, got ${values.window}`);
  if (intervalMs === undefined || intervalMs < 1000)
    throw new Error(`--interval: at least 1s, got ${values.interval}`);
  return {
    // 0: the agent with no replicas, its floor beside the same run's 100 (the methods sample nothing).
    containers: integerOption('containers', values.containers, 0, 1000),
    windowMs,
    intervalMs,
    only: new Set(values.only.split(',')),
    image: values.image,
    plainNode: values['plain-node'],
    agentCommand: resolve(values['agent-command']),
    smapsDir: values['smaps-dir'] === undefined ? undefined : resolve(values['smaps-dir']),
  };
}

function dockerdPid(): number {
  return Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
}

interface Window {
  readonly cpuPercent: number;
  readonly peakRssBytes: number;
  /** At the window's end: what of the RSS is anonymous (heaps) and file-backed (code). */
  readonly anonBytes: number;
  readonly fileBytes: number;
  readonly dockerdPercent: number;
}

/** CPU of `pid` and of dockerd over the window (whole ticks), with the peak RSS of `pid` seen each second. */
async function measure(pid: number, windowMs: number, alive: () => void): Promise<Window> {
  const engine = dockerdPid();
  const start = { ticks: cpuTicks(pid), engine: cpuTicks(engine), wall: performance.now() };
  let peak = rssBytes(pid);
  while (performance.now() - start.wall < windowMs) {
    checkInterrupted();
    alive();
    await sleep(Math.min(1000, windowMs - (performance.now() - start.wall)));
    peak = Math.max(peak, rssBytes(pid));
  }
  const wallMs = performance.now() - start.wall;
  const parts = rssParts(pid);
  const percent = (ticks: number) => ((ticks / CLOCK_TICKS_PER_S) * 1000 * 100) / wallMs;
  return {
    cpuPercent: percent(cpuTicks(pid) - start.ticks),
    peakRssBytes: peak,
    ...parts,
    dockerdPercent: percent(cpuTicks(engine) - start.engine),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  try {
    await withDeadline('the child to exit', 5000, exited);
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}

const aliveCheck = (child: ChildProcess, stderr: string[]) => () => {
  if (child.exitCode !== null || child.signalCode !== null)
    throw new Error(`child exited (${child.exitCode ?? child.signalCode}): ${stderr.slice(-5).join(' | ')}`);
};

async function runMethod(
  method: Method,
  ids: string[],
  options: Options,
): Promise<Window & { sent: number; bytes: number }> {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'bench/harness/stats-sampling-worker.ts'),
      '--method',
      method,
      '--ids',
      ids.join(','),
      '--interval-ms',
      String(options.intervalMs),
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  try {
    // Start-up (module loading, opening streams, finding cgroups) is not what is measured.
    await sleep(3000);
    const window = await measure(child.pid ?? 0, options.windowMs, aliveCheck(child, stderr));
    await stopChild(child);
    const counts = JSON.parse(stdout.join('').trim() || '{"sent":0,"bytes":0}') as {
      sent: number;
      bytes: number;
    };
    return { ...window, ...counts };
  } finally {
    await stopChild(child);
  }
}

async function createContainers(docker: Docker, label: string, options: Options): Promise<string[]> {
  const semaphore = new Semaphore(8);
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: options.containers }, (_, i) =>
      semaphore.run(async () => {
        checkInterrupted();
        const container = await docker.createContainer({
          Image: options.image,
          name: `skiff-bench-stats-${label}-${i}`,
          Labels: { 'skiff-bench-stats': label },
          HostConfig: { Memory: 64 * MiB },
        });
        await container.start();
        ids.push(container.id);
      }),
    ),
  );
  return ids;
}

async function methodsPhase(docker: Docker, label: string, options: Options): Promise<string[][]> {
  out(`1. sampling ${options.containers} containers every ${options.intervalMs / 1000} s, three ways`);
  const t0 = performance.now();
  const ids = await createContainers(docker, label, options);
  out(
    `   ${ids.length} containers running after ${((performance.now() - t0) / 1000).toFixed(1)} s; settling 5 s.`,
  );
  await sleep(5000);
  const rows: string[][] = [];
  let idle: Window | undefined;
  for (const method of METHODS) {
    const result = await runMethod(method, ids, options);
    if (method === 'idle') idle = result;
    const extra = idle && method !== 'idle' ? result.dockerdPercent - idle.dockerdPercent : 0;
    out(
      `   ${method.padEnd(8)} worker ${result.cpuPercent.toFixed(2)}% of a core, peak RSS ${(result.peakRssBytes / MiB).toFixed(0)} MiB;` +
        ` dockerd ${result.dockerdPercent.toFixed(2)}%${method === 'idle' ? ' (baseline)' : ` (+${extra.toFixed(2)})`};` +
        ` ${result.sent} messages, ${(result.bytes / Math.max(1, result.sent) / 1024).toFixed(1)} KiB each`,
    );
    rows.push([
      method,
      `${result.cpuPercent.toFixed(2)}%`,
      `${(result.peakRssBytes / MiB).toFixed(0)} MiB`,
      method === 'idle' ? `${result.dockerdPercent.toFixed(2)}%` : `+${extra.toFixed(2)}%`,
      method === 'idle' ? '-' : `${(result.cpuPercent - (idle?.cpuPercent ?? 0) + extra).toFixed(2)}%`,
    ]);
  }
  await forceRemoveAll(docker, [`skiff-bench-stats=${label}`], 8);
  return rows;
}

class ChildAgent {
  readonly process: ChildProcess;
  readonly stderr: string[] = [];
  constructor(server: RunningServer, dataDir: string, statsInterval: string, options: Options) {
    const { plainNode } = options;
    // bin/skiff execs Node: the child's pid is the agent's.
    this.process = spawn(
      plainNode ? process.execPath : options.agentCommand,
      [
        ...(plainNode ? [join(REPO_ROOT, 'src/cli/main.ts')] : []),
        'agent',
        '--server',
        server.url,
        '--join-token',
        server.tokens.join,
        '--data-dir',
        dataDir,
        '--name',
        'bench-stats-agent',
        '--stats-interval',
        statsInterval,
      ],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: plainNode ? process.env : { MALLOC_ARENA_MAX: '2', ...process.env },
      },
    );
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l.trim() !== ''),
      );
      this.stderr.splice(0, Math.max(0, this.stderr.length - 50));
    });
  }
}

async function agentPhase(
  dataDir: string,
  runId: string,
  options: Options,
  skiff: InProcessSkiff,
  agents: ChildAgent[],
): Promise<string[][]> {
  const n = options.containers;
  out(
    `2. the real agent (its own process) with ${n} replicas, --stats-interval ${options.intervalMs / 1000}s vs 1h`,
  );
  out(`   run as: ${options.plainNode ? `${process.execPath} src/cli/main.ts` : options.agentCommand} agent`);
  const { api, server } = await skiff.startServer(join(dataDir, 'server'));
  const rows: string[][] = [];
  let baseline: Window | undefined;
  for (const interval of ['1h', `${options.intervalMs / 1000}s`]) {
    const agent = new ChildAgent(server, join(dataDir, 'agent'), interval, options);
    agents.push(agent);
    await skiff.waitNodeReady();
    if (interval === '1h' && n > 0) {
      await api.deploy({
        name: `bench-stats-${runId}`,
        image: options.image,
        replicas: n,
        resources: { memory_mb: 64 },
      });
    }
    await waitUntil(`${n} replicas running`, 60_000 + n * 1000, 500, async () => {
      aliveCheck(agent.process, agent.stderr)();
      const views = await api.services();
      return views.reduce((sum, v) => sum + v.running, 0) === n ? true : undefined;
    });
    // Adoption and the first samples settle; with 5 s stats, the server must be seeing them.
    await sleep(6000);
    const window = await measure(
      agent.process.pid ?? 0,
      options.windowMs,
      aliveCheck(agent.process, agent.stderr),
    );
    if (interval === '1h') baseline = window;
    if (options.smapsDir !== undefined && agent.process.pid !== undefined) {
      mkdirSync(options.smapsDir, { recursive: true });
      const smaps = readFileSync(`/proc/${agent.process.pid}/smaps`, 'utf8');
      writeFileSync(join(options.smapsDir, `agent-${n}-${interval}.smaps`), smaps);
    }
    const stats = server.stats.size;
    out(
      `   --stats-interval ${interval.padEnd(3)}: agent ${window.cpuPercent.toFixed(2)}% of a core, peak RSS ${(window.peakRssBytes / MiB).toFixed(0)} MiB` +
        ` (at the end: anon ${(window.anonBytes / MiB).toFixed(0)}, file ${(window.fileBytes / MiB).toFixed(0)}),` +
        ` dockerd ${window.dockerdPercent.toFixed(2)}%; server holds ${stats.replicas} replica and ${stats.nodes} node series`,
    );
    rows.push([
      `agent, --stats-interval ${interval}`,
      `${window.cpuPercent.toFixed(2)}%`,
      `${(window.peakRssBytes / MiB).toFixed(0)} MiB`,
      baseline && interval !== '1h'
        ? `+${(window.dockerdPercent - baseline.dockerdPercent).toFixed(2)}%`
        : `${window.dockerdPercent.toFixed(2)}%`,
      baseline && interval !== '1h'
        ? `${(window.cpuPercent - baseline.cpuPercent + window.dockerdPercent - baseline.dockerdPercent).toFixed(2)}%`
        : '-',
    ]);
    if (agent.process.exitCode === null) {
      agent.process.kill('SIGTERM');
      await withDeadline(
        'the agent to exit',
        10_000,
        new Promise((resolve) => agent.process.once('exit', resolve)),
      );
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const options = parseOptions();
  abortOnSignals();
  const docker = new Docker();
  const runId = randomUUID().slice(0, 8);
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-stats-'));
  const skiff = new InProcessSkiff();
  const agents: ChildAgent[] = [];
  const rows: string[][] = [];
  try {
    if (options.only.has('methods')) rows.push(...(await methodsPhase(docker, runId, options)));
    if (options.only.has('agent')) rows.push(...(await agentPhase(dataDir, runId, options, skiff, agents)));
    out();
    out(
      `Summary (${options.containers} containers, every ${options.intervalMs / 1000} s, ${options.windowMs / 1000} s windows; % of one core):`,
    );
    out(table(['what', 'process CPU', 'peak RSS', 'dockerd CPU', 'total over idle'], rows, { rule: true }));
    out('Goal: below 3% of a core for 100 containers (process + engine, over the idle baseline).');
  } finally {
    for (const agent of agents) if (agent.process.exitCode === null) agent.process.kill('SIGKILL');
    await forceRemoveAll(docker, [`skiff-bench-stats=${runId}`], 8).catch(() => 0);
    const clusterId = skiff.server?.clusterId;
    await skiff.stop().catch(() => {});
    if (clusterId) {
      await sweepClusters(docker, [clusterId], 8).catch(() => {});
      await removeClusterNetworks(docker, clusterId).catch(() => {});
    }
    await rm(dataDir, { recursive: true, force: true });
    const left = await listLabelled(docker, [`skiff-bench-stats=${runId}`]).catch(() => []);
    if (left.length > 0)
      out(`warning: ${left.length} bench containers left (label skiff-bench-stats=${runId})`);
  }
}

runMain('bench:stats', main);
