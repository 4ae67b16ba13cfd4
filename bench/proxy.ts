/**
 * `npm run bench:proxy`: what Skiff's data path costs, on the paths users take, on the lab (3
 * hosts). One replica of a small Node HTTP server (`bench/proxy/backend.ts`, run in the replica's
 * network namespace) serves two services on lab-h1: `bench-tcp` (`app_protocol: tcp`, the kernel
 * path) and `bench-http` (`app_protocol: http`, the agent's HTTP proxy behind a REDIRECT: its
 * own HAProxy, then the built-in Node proxy, by restarting lab-h1's agent with `--http-proxy`).
 *
 * Paths, each measured direct and through Skiff, interleaved, 3 runs, medians:
 * - service to service: from a client container on lab-h1, direct to the replica's container
 *   address, and to the service's VIP (what `NAME:PORT` resolves to);
 * - published port: from lab-h2, direct to the replica's own published port on lab-h1 (Docker's
 *   DNAT), and to the service's ingress port on lab-h1.
 * Loads (Debian's `wrk`, one thread, in the client's network namespace): saturation with 64
 * keep-alive connections, then a fixed rate (paced connections) of half the direct saturation
 * rate for TCP and 2,000 requests/s for HTTP, for the added p99. Goals: TCP ≥ 85% of direct
 * throughput and ≤ 0.5 ms added p99; HTTP ≥ 25% and ≤ 3 ms.
 *
 * Installs `wrk` with apt-get if it is missing. The lab is taken down at the end, also on failure.
 * Options: --runs N (3), --duration S (5), --http-proxy both|haproxy|builtin (both). Direct is
 * measured again beside each HTTP proxy, so each ratio is against direct runs interleaved with it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { serviceVip } from '../src/model/addressing.ts';
import type { ServiceSpecInput } from '../src/model/service-spec.ts';
import { engineOf, runLabBench, waitNodesReady } from './harness/lab-skiff.ts';
import { positiveInt } from './harness/options.ts';
import { out, pct, table } from './harness/report.ts';
import { median } from './harness/stats.ts';
import { waitUntil } from './harness/wait.ts';
import { type WrkResult, wrk } from './proxy/wrk.ts';

const BACKEND = resolve(import.meta.dirname, 'proxy/backend.ts');
const PORT = 9090;
const TCP_PUBLISHED = 19090;
const HTTP_PUBLISHED = 19091;
const HTTP_FIXED_RATE = 2000;
const GOALS = {
  tcp: { throughput: 0.85, addedP99Ms: 0.5 },
  http: { throughput: 0.25, addedP99Ms: 3 },
} as const;

interface Target {
  readonly label: string;
  readonly url: string;
}

interface PathCase {
  readonly name: string;
  readonly netns: string;
  readonly direct: Target;
  readonly tcp: Target;
  readonly http: Target;
}

function ensureWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    // wrk --version exits 1 after printing; only a missing binary is ENOENT.
    if ((error as { code?: string }).code !== 'ENOENT') return;
    out('installing wrk (apt-get install -y wrk)');
    execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'inherit' });
  }
}

type HttpProxyKind = 'haproxy' | 'builtin';
type Mode = 'direct' | 'tcp' | 'http';

interface CaseFigures {
  readonly saturation: Record<Mode, WrkResult[]>;
  readonly tcpRate: number;
  readonly fixed: Record<'directTcp' | 'tcp' | 'directHttp' | 'http', WrkResult[]>;
}

const medianOf = (rs: readonly WrkResult[], f: (r: WrkResult) => number): number => median(rs.map(f));

/** Until every Skiff path of every case answers (the HTTP route's proxy has its backend). */
async function waitSkiffPaths(cases: readonly PathCase[]): Promise<void> {
  await waitUntil('the skiff paths answer', 60_000, 200, async () => {
    for (const c of cases) {
      for (const t of [c.tcp, c.http]) {
        const r = await wrk({ netns: c.netns, url: t.url, connections: 1, durationS: 1 }).catch(
          () => undefined,
        );
        if (!r || r.errors > 0 || r.requestsPerSecond === 0) return undefined;
      }
    }
    return true;
  });
}

/** Saturation of each of `modes` then the fixed rates, `runs` interleaved rounds of each. */
async function measureCase(
  c: PathCase,
  runs: number,
  durationS: number,
  modes: readonly Mode[],
): Promise<CaseFigures> {
  const saturation: Record<Mode, WrkResult[]> = { direct: [], tcp: [], http: [] };
  for (let run = 0; run < runs; run++) {
    for (const which of modes) {
      saturation[which].push(await wrk({ netns: c.netns, url: c[which].url, connections: 64, durationS }));
    }
  }
  const tcpRate = Math.round(medianOf(saturation.direct, (r) => r.requestsPerSecond) / 2);
  const fixed: CaseFigures['fixed'] = { directTcp: [], tcp: [], directHttp: [], http: [] };
  const paced = (url: string, rate: number) => wrk({ netns: c.netns, url, connections: 0, durationS, rate });
  for (let run = 0; run < runs; run++) {
    if (modes.includes('tcp')) {
      fixed.directTcp.push(await paced(c.direct.url, tcpRate));
      fixed.tcp.push(await paced(c.tcp.url, tcpRate));
    }
    fixed.directHttp.push(await paced(c.direct.url, HTTP_FIXED_RATE));
    fixed.http.push(await paced(c.http.url, HTTP_FIXED_RATE));
  }
  return { saturation, tcpRate, fixed };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      'http-proxy': { type: 'string', default: 'both' },
    },
  });
  const choice = values['http-proxy'];
  if (choice !== 'both' && choice !== 'haproxy' && choice !== 'builtin')
    throw new Error(`--http-proxy ${choice}: expected both, haproxy or builtin`);
  const proxies: HttpProxyKind[] = choice === 'both' ? ['haproxy', 'builtin'] : [choice];
  // The agents start with the first; bench-h1's is restarted for the next.
  process.env.SKIFF_LAB_HTTP_PROXY = proxies[0];
  const runs = positiveInt('runs', values.runs, 9);
  const durationS = positiveInt('duration', values.duration, 60);
  ensureWrk();
  const backends: ChildProcess[] = [];
  await runLabBench(
    'proxy',
    async (session) => {
      // lab-h1's agent is restarted between the HTTP proxies: its replicas must stay where they are.
      const labSkiff = await session.up(3, {
        labUpTimeoutMs: 240_000,
        httpTimeoutMs: 10_000,
        serverArgs: ['--node-down-after', '120s'],
      });
      const { api, lab, skiff } = labSkiff;
      await waitNodesReady(labSkiff, 'three ready nodes', 60_000, 200);
      const onH1 = { constraints: [`node==${lab.nodeName(1)}`] };
      const service = (name: string, appProtocol: 'tcp' | 'http', hostPort: number): ServiceSpecInput => ({
        name,
        image: 'skiff-demo:v1',
        ports: [{ container_port: PORT, host_port: hostPort, app_protocol: appProtocol }],
        placement: onH1,
      });
      await api.deploy(service('bench-tcp', 'tcp', TCP_PUBLISHED));
      await api.deploy(service('bench-http', 'http', HTTP_PUBLISHED));
      await api.deploy({ name: 'bench-client', image: 'skiff-demo:v1', placement: onH1 });
      const h1 = engineOf(labSkiff, 1);
      const inspect = async (name: string) => {
        const view = await waitUntil(`${name} running`, 90_000, 200, async () => {
          const v = await api.service(name);
          const c = v.containers[0];
          return c?.id && c.status === 'running' ? c : undefined;
        });
        const info = await h1.getContainer(view.id ?? '').inspect();
        const ip = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress ?? '';
        return { pid: info.State.Pid, ip, ports: view.ports };
      };
      const tcpReplica = await inspect('bench-tcp');
      const httpReplica = await inspect('bench-http');
      const client = await inspect('bench-client');
      for (const replica of [tcpReplica, httpReplica]) {
        const child = spawn(
          'nsenter',
          [`--net=/proc/${replica.pid}/ns/net`, process.execPath, BACKEND, String(PORT)],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        backends.push(child);
      }
      const direct = `http://${tcpReplica.ip}:${PORT}/`;
      await waitUntil('the backends answer', 30_000, 200, async () => {
        const r = await wrk({
          netns: `/proc/${client.pid}/ns/net`,
          url: direct,
          connections: 1,
          durationS: 1,
        }).catch(() => undefined);
        return r && r.requestsPerSecond > 0 && r.errors === 0 ? r : undefined;
      });
      const vip = (name: string) =>
        serviceVip(skiff.pool, skiff.allocation('network', 'default'), skiff.allocation('service', name));
      const published = tcpReplica.ports.find((p) => p.container_port === PORT)?.host_port;
      const h1Address = lab.address(1);
      const cases: PathCase[] = [
        {
          name: 'service to service (client container on lab-h1 → NAME:PORT)',
          netns: `/proc/${client.pid}/ns/net`,
          direct: { label: 'direct (container address)', url: direct },
          tcp: { label: 'skiff tcp (VIP, kernel)', url: `http://${vip('bench-tcp')}:${PORT}/` },
          http: { label: 'skiff http (VIP, proxy)', url: `http://${vip('bench-http')}:${PORT}/` },
        },
        {
          name: 'published port (lab-h2 → lab-h1)',
          netns: '/var/run/netns/skiff-lab-h2',
          direct: {
            label: "direct (the replica's own published port)",
            url: `http://${h1Address}:${published}/`,
          },
          tcp: { label: 'skiff tcp (ingress port, kernel)', url: `http://${h1Address}:${TCP_PUBLISHED}/` },
          http: { label: 'skiff http (ingress port, proxy)', url: `http://${h1Address}:${HTTP_PUBLISHED}/` },
        },
      ];
      const phases: { proxy: HttpProxyKind; results: CaseFigures[] }[] = [];
      out(`bench:proxy — ${runs} interleaved runs of ${durationS} s each, medians; wrk, 1 thread`);
      for (const [index, proxy] of proxies.entries()) {
        try {
          if (index > 0) {
            // The agent of lab-h1 (where the replicas, the client and the published port's DNAT
            // are) is restarted with the other --http-proxy; its replicas stay where they are.
            process.env.SKIFF_LAB_HTTP_PROXY = proxy;
            await lab.killAgent(1);
            await lab.startAgent(1);
            await waitNodesReady(labSkiff, 'lab-h1 ready again', 60_000, 200);
            const again = await inspect('bench-http');
            if (again.pid !== httpReplica.pid)
              throw new Error('the bench-http replica was replaced by the agent restart');
          }
          await waitSkiffPaths(cases);
          out(`measuring with --http-proxy ${proxy}`);
          const results: CaseFigures[] = [];
          for (const c of cases) {
            // The kernel path does not depend on the HTTP proxy: measured once.
            results.push(
              await measureCase(
                c,
                runs,
                durationS,
                index === 0 ? ['direct', 'tcp', 'http'] : ['direct', 'http'],
              ),
            );
          }
          phases.push({ proxy, results });
        } catch (error) {
          // What was measured before is still printed.
          if (index === 0) throw error;
          out(
            `--http-proxy ${proxy} not measured: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
      for (const [caseIndex, c] of cases.entries()) {
        out('');
        out(c.name);
        const rows: string[][] = [];
        const fixedRows: string[][] = [];
        const verdicts: string[] = [];
        for (const [phaseIndex, { proxy, results }] of phases.entries()) {
          const figures = results[caseIndex];
          if (figures === undefined) continue;
          const directRps = medianOf(figures.saturation.direct, (r) => r.requestsPerSecond);
          const modes =
            phaseIndex === 0 ? (['direct', 'tcp', 'http'] as const) : (['direct', 'http'] as const);
          for (const which of modes) {
            const rs = figures.saturation[which];
            const rps = medianOf(rs, (r) => r.requestsPerSecond);
            const label = which === 'http' ? `${c.http.label.replace('proxy', proxy)}` : c[which].label;
            rows.push([
              phaseIndex > 0 && which === 'direct' ? `${label} (again, for ${proxy})` : label,
              rps.toFixed(0),
              which === 'direct' ? '' : pct(rps / directRps),
              medianOf(rs, (r) => r.p50Ms).toFixed(2),
              medianOf(rs, (r) => r.p99Ms).toFixed(2),
              String(rs.reduce((n, r) => n + r.errors, 0)),
            ]);
          }
          const fixedModes = phaseIndex === 0 ? (['tcp', 'http'] as const) : (['http'] as const);
          for (const mode of fixedModes) {
            const d = mode === 'tcp' ? figures.fixed.directTcp : figures.fixed.directHttp;
            const f = mode === 'tcp' ? figures.fixed.tcp : figures.fixed.http;
            const rate = mode === 'tcp' ? figures.tcpRate : HTTP_FIXED_RATE;
            const added = medianOf(f, (r) => r.p99Ms) - medianOf(d, (r) => r.p99Ms);
            const name = mode === 'tcp' ? 'tcp (kernel)' : `http (${proxy})`;
            fixedRows.push([
              `${name}, paced for ${rate} req/s`,
              medianOf(d, (r) => r.requestsPerSecond).toFixed(0),
              medianOf(f, (r) => r.requestsPerSecond).toFixed(0),
              medianOf(d, (r) => r.p99Ms).toFixed(2),
              medianOf(f, (r) => r.p99Ms).toFixed(2),
              added.toFixed(2),
            ]);
            const ratio = medianOf(figures.saturation[mode], (r) => r.requestsPerSecond) / directRps;
            const goal = GOALS[mode];
            const ok = ratio >= goal.throughput && added <= goal.addedP99Ms;
            verdicts.push(
              `${name}: ${pct(ratio)} of direct (goal ≥ ${pct(goal.throughput)}), +${added.toFixed(2)} ms p99 (goal ≤ ${goal.addedP99Ms} ms): ${ok ? 'met' : 'NOT met'}`,
            );
          }
        }
        out(table(['saturation, 64 connections', 'req/s', 'of direct', 'p50 ms', 'p99 ms', 'errors'], rows));
        out(
          table(
            ['fixed rate', 'direct req/s', 'skiff req/s', 'direct p99', 'skiff p99', 'added p99 ms'],
            fixedRows,
          ),
        );
        for (const line of verdicts) out(`  ${line}`);
      }
    },
    async () => {
      for (const child of backends) if (child.exitCode === null) child.kill('SIGTERM');
    },
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:proxy failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
