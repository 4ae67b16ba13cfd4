/**
 * `npm run bench:metrics`: what one Prometheus scrape of the server costs at scale. A real Skiff
 * server (in this process: SQLite on tmpfs) with N simulated agents in a child process
 * (bench/sim-agents.ts: the real protocol, the agent's converge loop on fake engines, each agent
 * sending its counters and its usage samples, src/sim/fake-usage.ts, every 5 s), R replicas deployed
 * over them. Then GET /metrics, one request at a time: the time to the last byte (client side, over
 * loopback HTTP with a bearer token), the server's own render time
 * (`skiff_metrics_scrape_duration_seconds`), the body's size and its number of series.
 *
 * Options: --nodes 100  --replicas 1000  --scrapes 50  --timeout 300s  --busy 0 (that many child
 * processes spinning on a core each while the timed scrapes run: the scrape on a loaded machine).
 * --cpu-prof DIR writes a CPU profile of the server (this process) over the timed scrapes.
 * --client same|child: the timed scrapes from this process (the server's, so the client's own work
 * of reading 2 MB is in its event loop and its figures), or from a child process, as Prometheus.
 * Goal: scrape ≤ 100 ms, p99 included.
 * Exits 0 whatever the figures: it is a measurement.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { ServiceSpecInput } from '../src/model/service-spec.ts';
import { startServer } from '../src/server/skiff-server.ts';
import { integerOption, positiveInt } from './harness/options.ts';
import { fmtMs, grouped, out, runMain, table } from './harness/report.ts';
import { SkiffApi } from './harness/skiff-api.ts';
import { median, percentile } from './harness/stats.ts';
import { waitFor } from './harness/wait.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100' },
    replicas: { type: 'string', default: '1000' },
    scrapes: { type: 'string', default: '50' },
    timeout: { type: 'string', default: '300' },
    busy: { type: 'string', default: '0' },
    client: { type: 'string', default: 'same' },
    'cpu-prof': { type: 'string' },
  },
});
const NODES = positiveInt('nodes', values.nodes, 5000);
const REPLICAS = positiveInt('replicas', values.replicas, 100_000);
const SCRAPES = positiveInt('scrapes', values.scrapes, 10_000);
const BUSY = integerOption('busy', values.busy, 0, 16);
if (values.client !== 'same' && values.client !== 'child')
  throw new Error(`--client: same or child, got ${values.client}`);
const TIMEOUT_MS = positiveInt('timeout', values.timeout.replace(/s$/, ''), 3600) * 1000;
const PER_SERVICE = 100;
const GOAL_MS = 100;
const REPO = join(import.meta.dirname, '..');

runMain('bench:metrics', async () => {
  const dir = mkdtempSync(join('/dev/shm', 'skiff-bench-metrics-'));
  const server = await startServer({ dataDir: dir, port: 0, listen: '127.0.0.1', log: () => {} });
  let fleet: ChildProcess | undefined;
  let busy: ChildProcess[] = [];
  try {
    const api = new SkiffApi(server.url, server.tokens.admin, 60_000);
    fleet = spawn(
      process.execPath,
      [join(REPO, 'bench/sim-agents.ts'), '--server', server.url, '--nodes', String(NODES), '--cpus', '4'],
      { env: { ...process.env, SKIFF_JOIN_TOKEN: server.tokens.join }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const fleetLog: string[] = [];
    fleet.stderr?.on('data', (d: Buffer) => fleetLog.push(String(d)));
    const startedAt = performance.now();
    await waitFor(`${NODES} ready nodes`, TIMEOUT_MS, 500, async () => {
      if (fleet?.exitCode !== null) throw new Error(`sim-agents exited: ${fleetLog.join('').slice(-2000)}`);
      const ready = (await api.nodes()).filter((n) => n.status === 'ready').length;
      return ready >= NODES ? ready : undefined;
    });
    out(`${NODES} simulated agents ready in ${fmtMs(performance.now() - startedAt)} ms`);

    const services = Math.ceil(REPLICAS / PER_SERVICE);
    const deployedAt = performance.now();
    for (let i = 0; i < services; i++) {
      const spec: ServiceSpecInput = {
        name: `svc-${i}`,
        image: 'sim:v1',
        replicas: Math.min(PER_SERVICE, REPLICAS - i * PER_SERVICE),
        resources: { cpus: 0.1, memory_mb: 32 },
        placement: { strategy: 'spread' },
        // A health check on every tenth service, so probe histograms are in the scrape too.
        ...(i % 10 === 0
          ? { health_check: { type: 'exec', command: ['true'], interval: '1s', timeout: '1s', retries: 3 } }
          : {}),
      };
      await api.deploy(spec);
    }
    await waitFor(`${REPLICAS} replicas running`, TIMEOUT_MS, 1000, async () => {
      const all = await api.services();
      const count = all.reduce((n, s) => n + s.running, 0);
      return count >= REPLICAS ? true : undefined;
    });
    out(
      `${grouped(REPLICAS)} replicas of ${services} services running (${fmtMs(performance.now() - deployedAt)} ms from the first deploy)`,
    );

    // The agents' counters (every 5 s) and usage samples (stats, every 5 s) of every replica are in.
    await waitFor('usage of every replica in /metrics', TIMEOUT_MS, 1000, async () => {
      const text = await (
        await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.tokens.admin}` } })
      ).text();
      const usage = text.match(/^skiff_container_cpu_usage_seconds_total\{/gm)?.length ?? 0;
      const counters = text.match(/^skiff_replica_restarts_total\{/gm)?.length ?? 0;
      return usage >= REPLICAS && counters > 0 ? true : undefined;
    });
    const timesMs: number[] = [];
    const renderMs: number[] = [];
    let bytes = 0;
    let series = 0;
    let families = 0;
    let last = '';
    // One scrape first, untimed: the first render compiles the code paths it takes.
    await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.tokens.admin}` } })
    ).text();
    busy = startBusy(BUSY);
    const profile = values['cpu-prof'] === undefined ? undefined : await startProfile();
    const loadBefore = loadavg()[0] ?? 0;
    if (values.client === 'child') {
      const result = await scrapeFromChild(`${server.url}/metrics`, server.tokens.admin, SCRAPES);
      timesMs.push(...result.timesMs);
      renderMs.push(...result.renderedS.slice(1).map((s) => s * 1000));
      last = result.last;
    } else {
      for (let i = 0; i < SCRAPES; i++) {
        const t0 = performance.now();
        const response = await fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${server.tokens.admin}` },
        });
        const text = await response.text();
        timesMs.push(performance.now() - t0);
        if (!response.ok) throw new Error(`GET /metrics: ${response.status} ${text.slice(0, 200)}`);
        last = text;
        // The previous scrape's render time, as the server measured it.
        const rendered = /^skiff_metrics_scrape_duration_seconds (\S+)$/m.exec(text)?.[1];
        if (i > 0 && rendered !== undefined) renderMs.push(Number(rendered) * 1000);
      }
    }
    const loadAfter = loadavg()[0] ?? 0;
    // Counted once, after: this process is also the server, and a scraper's parsing is not its cost.
    bytes = Buffer.byteLength(last);
    const lines = last.split('\n');
    series = lines.filter((l) => l !== '' && !l.startsWith('#')).length;
    families = lines.filter((l) => l.startsWith('# TYPE ')).length;
    if (profile) out(`cpu profile: ${await profile.stop(values['cpu-prof'] ?? '.')}`);
    await stopBusy(busy);
    out();
    out(
      table(
        [
          'nodes',
          'replicas',
          'scrape p50 ms',
          'p95 ms',
          'p99 ms',
          'max ms',
          'render p50 ms',
          'size',
          'series',
          'families',
          'goal',
        ],
        [
          [
            grouped(NODES),
            grouped(REPLICAS),
            fmtMs(median(timesMs)),
            fmtMs(percentile(timesMs, 95)),
            fmtMs(percentile(timesMs, 99)),
            fmtMs(Math.max(...timesMs)),
            fmtMs(median(renderMs)),
            `${(bytes / 1024).toFixed(0)} KiB`,
            grouped(series),
            String(families),
            `p50 ${median(timesMs) <= GOAL_MS ? 'met' : 'missed'}, p99 ${percentile(timesMs, 99) <= GOAL_MS ? 'met' : 'missed'}`,
          ],
        ],
        { rule: true },
      ),
    );
    out(
      `(${SCRAPES} scrapes one at a time after one untimed, from ${values.client === 'child' ? 'a child process' : 'the server process'}, ${BUSY} busy processes beside; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; goal ≤ ${GOAL_MS} ms)`,
    );
  } finally {
    await stopBusy(busy);
    if (fleet && fleet.exitCode === null) {
      const exited = new Promise((done) => fleet?.once('exit', done));
      fleet.kill('SIGTERM');
      await exited;
    }
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `count` children spinning on a core each: the scrape on a loaded machine. */
function startBusy(count: number): ChildProcess[] {
  return Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
  );
}

async function stopBusy(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGKILL');
      return exited;
    }),
  );
}

/** A CPU profile of this process (the server) from now until `stop`, written as a .cpuprofile. */
async function startProfile(): Promise<{ stop: (dir: string) => Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    stop: async (dir) => {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      const path = join(dir, `metrics-scrape-${Date.now()}.cpuprofile`);
      writeFileSync(path, JSON.stringify(profile));
      return path;
    },
  };
}

/** The timed scrapes from a process of its own (bench/harness/scrape-client.ts). */
function scrapeFromChild(
  url: string,
  token: string,
  count: number,
): Promise<{ timesMs: number[]; renderedS: number[]; last: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(REPO, 'bench/harness/scrape-client.ts'), url, token, String(count)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`scrape client exited with ${code}`));
      const parsed = z
        .object({ timesMs: z.array(z.number()), renderedS: z.array(z.number()), last: z.string() })
        .parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      resolve(parsed);
    });
  });
}
