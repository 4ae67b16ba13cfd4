/**
 * `npm run bench:control-plane`: the control plane at scale, with no Docker. A real Skiff server
 * (SQLite, bench/harness/control-plane-server.ts) runs in one child process and N simulated
 * agents (bench/sim-agents.ts: the real protocol over real WebSockets, the agent's real converge
 * loop on fake engines that start containers at once) in another, so the server's RSS and CPU
 * are its own. For each cluster size (--nodes, default 100 and 1,000), with 10 replicas per node
 * spread over services of 95 replicas plus services of 5 with an exec health check every 1 s
 * (5% of the replicas), it prints:
 *
 * - time from deploying 1,000 replicas (10 + 10 services, one POST each) to all running on the
 *   agents' engines (asked of the fleet, which costs the server nothing) and to all reported
 *   running by GET /api/services; then the same for filling the cluster to 10 replicas per node;
 * - server RSS and CPU (share of one core; GC threads can take it past 100%) while idle (3 s after
 *   the fill, and once its endpoints reached every agent: the fill's 1.3 MB waits out its pace,
 *   then goes to each agent a slice at a time, server/endpoints-outbox.ts; how long that took is
 *   printed) and while
 *   100 replicas churn per second (random running containers killed, their agents replace them),
 *   with the controller pass time p50/p99 and passes per second in each window (onPass hook);
 * - GET /api/services and GET /api/nodes latency (a page of 100: `?limit=100`): one request at a time, then p50/p99 at 20
 *   requests/s (the two routes taking turns, open loop, 30 s timeout), idle and under churn; a
 *   route whose one answer alone takes over 100 ms (it cannot keep its 10/s) gets no load, which
 *   is printed, rather than minutes of piled-up requests;
 * - 10% of the nodes killed at once (100 at 1,000 nodes; their connections drop as a dead host's
 *   do): time until the server calls them down, until all their replicas run elsewhere (also
 *   counted beyond the node-down grace, 3 s), and until the API reports them so; then where that
 *   time went (a trace across the three processes, in ms after the kill: when the server read
 *   the drops, the passes in the grace, the pass that called them down by step, when the agents
 *   got their assignments, how the replicas rose on the engines, the fleet's event-loop delay).
 *
 * "Reported" is seen by polling GET /api/services one request at a time, every 250 ms, which
 * loads the server too (at 10,000 replicas that answer is several MB); the engine-side figures
 * come first, before any such polling. Exits 0 whatever the figures: it is a measurement.
 *
 * Options: --nodes 100,1000  --window 10s (each measuring window)  --churn 100 (kills/s)
 * --seed 1  --start-delay-ms 0  --timeout 600s (for each wait)  --fill-timeout 300s (a fill that
 * does not finish is reported with what ran, and the run goes on to the idle figures)  --stats-interval 5s
 * (each simulated agent's stats stream, as a real agent's: fake usage of every replica and node; 0: off)  --agent sim|real (sim: src/sim's
 * SimAgent; real: src/agent/agent.ts with its data plane off, to compare what the agents cost)
 * --server-node-args='--cpu-prof --cpu-prof-dir=/tmp/prof' (with `=`: parseArgs refuses a separate
 * value that starts with a dash; Node options for the server child, after
 * bin/node-flags, which it gets as `skiff server` does, with MALLOC_ARENA_MAX=1 and bin/skiff's
 * NODE_COMPILE_CACHE unless set: a CPU
 * profile, `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/snap` (the snapshot lands in the
 * diagnostic directory, by default the server child's cwd: the bench's own, the repository when
 * run by npm; bench/heap-summary.ts reads it), `--max-semi-space-size=16` to compare, …).
 * --server-env K=V (repeatable: environment for the server child only, over this process's, e.g.
 * `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2` to try another allocator on the server
 * and not on the simulated agents)  --idle-signal SIGUSR2 (sent to the server once the idle figures
 * are taken, e.g. for the heap snapshot of `--heapsnapshot-signal`; the idle API figures after it
 * then include the snapshot's pause).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readNodeFlags } from '../src/build/node-flags.ts';
import { parseDurationMs } from '../src/model/duration.ts';
import type { ServiceSpecInput } from '../src/model/service-spec.ts';
import { seededRandom } from '../src/sim/random.ts';
import type {
  FleetCommand,
  FleetCounters,
  FleetReply,
  ServerCommand,
  ServerReply,
} from './harness/control-plane-ipc.ts';
import { fleetReplySchema, serverReplySchema } from './harness/control-plane-ipc.ts';
import { IpcChild } from './harness/ipc-child.ts';
import { positiveInt } from './harness/options.ts';
import { CLOCK_TICKS_PER_S, cpuTicks, rssBytes } from './harness/proc.ts';
import { errorText, fmtMs, grouped, out, runMain, table } from './harness/report.ts';
import { SkiffApi } from './harness/skiff-api.ts';
import { median, percentile } from './harness/stats.ts';
import { abortOnSignals, checkInterrupted, sleep, waitUntil } from './harness/wait.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100,1000' },
    window: { type: 'string', default: '10s' },
    churn: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    'start-delay-ms': { type: 'string', default: '0' },
    'stats-interval': { type: 'string', default: '5s' },
    timeout: { type: 'string', default: '600s' },
    'fill-timeout': { type: 'string', default: '300s' },
    agent: { type: 'string', default: 'sim' },
    'server-node-args': { type: 'string', default: '' },
    'server-env': { type: 'string', multiple: true, default: [] },
    'idle-signal': { type: 'string', default: '' },
  },
});
const SERVER_ENV: Record<string, string> = {};
for (const pair of values['server-env']) {
  const at = pair.indexOf('=');
  if (at <= 0) throw new Error(`--server-env: expected K=V, got ${pair}`);
  SERVER_ENV[pair.slice(0, at)] = pair.slice(at + 1);
}
const SIZES = values.nodes.split(',').map((n) => {
  const nodes = positiveInt('nodes', n.trim(), 5000);
  // Replicas come in blocks of 100 (10 nodes' worth).
  if (nodes % 10 !== 0) throw new Error(`--nodes: each size must be a multiple of 10, got ${nodes}`);
  return nodes;
});
const WINDOW_MS = durationOption('window', values.window);
const CHURN_PER_S = positiveInt('churn', values.churn, 10_000);
const SEED = positiveInt('seed', values.seed, 2 ** 31);
const TIMEOUT_MS = durationOption('timeout', values.timeout);
const FILL_TIMEOUT_MS = durationOption('fill-timeout', values['fill-timeout']);
const REPLICAS_PER_NODE = 10;
/** Each block of 100 replicas: 95 unchecked, 5 with a health check (5%). */
const BLOCK = { plain: 95, checked: 5 } as const;
const DEPLOY_MEASURED_REPLICAS = 1000;
const FAILED_NODE_SHARE = 0.1;
const API_RATE_PER_S = 20;
/** Issue 9's API goal is for a page of 100 (src/api/paging.ts): what a dashboard or CLI page asks. */
const API_PAGE = '?limit=100';
const POLL_MS = 250;
const API_TIMEOUT_MS = 30_000;
const SERIAL_REQUESTS = 5;
/** One-at-a-time requests stop early past this (a route that takes seconds an answer). */
const SERIAL_BUDGET_MS = 10_000;
/** Node capacity: room for 20 replicas of 0.1 CPU, twice what they get, so failover has room. */
const NODE_CPUS = 2;
const NODE_MEMORY_MB = 4096;
const REPO = join(import.meta.dirname, '..');

type Server = IpcChild<ServerReply, ServerCommand>;
type Fleet = IpcChild<FleetReply, FleetCommand>;

interface Usage {
  readonly serverRssBytes: number;
  readonly serverCpu: number;
  readonly fleetCpu: number;
  readonly passesMs: number[];
  readonly windowMs: number;
}
interface Latency {
  /** One request at a time, before the load: what one answer costs. */
  readonly serial: { readonly services: number[]; readonly nodes: number[] };
  readonly services: number[];
  readonly nodes: number[];
  /** Sends more than one interval behind their schedule (the bench itself was slow). */
  late: number;
  /** Requests not answered within API_TIMEOUT_MS (left out of the percentiles). */
  timedOut: number;
  /** Routes left out of the load: one answer alone takes longer than the rate allows. */
  readonly saturated: ('services' | 'nodes')[];
}

/** From a start to the agents' engines running the replicas, and to the API reporting them. */
interface Timing {
  readonly runningMs: number;
  readonly reportedMs: number;
}

interface Failover extends Timing {
  readonly killed: number;
  readonly replicas: number;
  readonly downMs: number;
  readonly graceMs: number;
  /** Where the time went (failoverTrace), or why it is not known. */
  readonly trace: string;
  readonly usage: Usage;
}

interface Result {
  readonly nodes: number;
  readonly replicas: number;
  registerMs: number | undefined;
  deploy: Timing | undefined;
  fill: Timing | undefined;
  deployUsage: Usage | undefined;
  fillUsage: Usage | undefined;
  idle: Usage | undefined;
  churn: Usage | undefined;
  apiIdle: Latency | undefined;
  apiChurn: Latency | undefined;
  failover: Failover | undefined;
  counters: FleetCounters | undefined;
  /** After the fill's 3 s settle, how much longer until no endpoints message waited to be written. */
  endpointsSettledMs: number | undefined;
  notes: string[];
}

/**
 * The API client with network failures retried (a few times, at once): an overloaded server
 * drops keep-alive connections under a request now and then, and every call the bench makes is
 * a read or an idempotent deploy. HTTP errors and timeouts are not retried.
 */
class RetryingApi extends SkiffApi {
  override async request(method: string, path: string, body?: unknown): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await super.request(method, path, body);
      } catch (error) {
        if (!(error instanceof TypeError) || attempt >= 4) throw withCause(error);
        networkRetries++;
      }
    }
  }
}

let networkRetries = 0;

/** fetch says only "fetch failed"; the cause says what failed. */
function withCause(error: unknown): unknown {
  if (!(error instanceof Error) || !(error.cause instanceof Error)) return error;
  return new Error(`${error.message}: ${error.cause.message}`, { cause: error });
}

function durationOption(name: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw new Error(`--${name}: expected a duration, got ${text}`);
  return ms;
}

/** Block b's two services: 95 replicas, and 5 with an exec check every second. */
function blockSpecs(block: number): ServiceSpecInput[] {
  const common = {
    image: 'sim:v1',
    resources: { cpus: 0.1, memory_mb: 32 },
    placement: { strategy: 'spread' as const },
  };
  return [
    { ...common, name: `svc-${block}`, replicas: BLOCK.plain },
    {
      ...common,
      name: `chk-${block}`,
      replicas: BLOCK.checked,
      health_check: { type: 'exec', command: ['true'], interval: '1s', timeout: '1s', retries: 3 },
    },
  ];
}

/** The raw services answer (no schema: at 10,000 replicas parsing it is the bench's own cost). */
interface RawService {
  readonly name: string;
  readonly replicas: number;
  readonly running: number;
  readonly containers: readonly { readonly status: string; readonly node_id: string | null }[];
}

async function rawServices(api: SkiffApi): Promise<RawService[]> {
  return (await api.request('GET', '/api/services')) as RawService[];
}

/** Polls GET /api/services (one request at a time) until `expected` replicas are running. */
async function waitReported(api: SkiffApi, what: string, expected: number): Promise<void> {
  await waitUntil(what, TIMEOUT_MS, POLL_MS, async () => {
    const services = await rawServices(api);
    const running = services.reduce((sum, s) => sum + Math.min(s.running, s.replicas), 0);
    return running >= expected ? true : undefined;
  });
}

/**
 * Waits for the agents' engines to run `expected` containers (asked of the fleet, which costs the
 * server nothing), then for the API to report them running.
 */
async function untilRunning(
  api: SkiffApi,
  fleet: Fleet,
  what: string,
  expected: number,
  startedAt: number,
  timeoutMs = TIMEOUT_MS,
): Promise<Timing> {
  await fleet.request({ cmd: 'wait-running', expected }, 'running', timeoutMs);
  const runningMs = performance.now() - startedAt;
  await waitReported(api, what, expected);
  return { runningMs, reportedMs: performance.now() - startedAt };
}

/**
 * Server and fleet CPU over a phase, the server's largest RSS in it (sampled every second), and
 * the controller passes it ran; read whenever the phase ends, also when it failed.
 */
class Meter {
  readonly #server: Server;
  readonly #fleet: Fleet;
  readonly #serverTicks: number;
  readonly #fleetTicks: number;
  readonly #startedAt = performance.now();
  readonly #sampler: NodeJS.Timeout;
  #maxRssBytes = 0;

  private constructor(server: Server, fleet: Fleet) {
    this.#server = server;
    this.#fleet = fleet;
    this.#serverTicks = cpuTicks(server.pid);
    this.#fleetTicks = cpuTicks(fleet.pid);
    this.#sample();
    this.#sampler = setInterval(() => this.#sample(), 1000);
  }

  /** Forgets the passes so far, then starts measuring. */
  static async start(server: Server, fleet: Fleet): Promise<Meter> {
    await server.request({ cmd: 'passes' }, 'passes', 120_000);
    return new Meter(server, fleet);
  }

  async read(): Promise<Usage> {
    clearInterval(this.#sampler);
    this.#sample();
    const elapsedS = (performance.now() - this.#startedAt) / 1000;
    const serverCpu = (cpuTicks(this.#server.pid) - this.#serverTicks) / CLOCK_TICKS_PER_S / elapsedS;
    const fleetCpu = (cpuTicks(this.#fleet.pid) - this.#fleetTicks) / CLOCK_TICKS_PER_S / elapsedS;
    const passes = await this.#server.request({ cmd: 'passes' }, 'passes', 120_000);
    return {
      serverRssBytes: this.#maxRssBytes,
      serverCpu,
      fleetCpu,
      passesMs: passes.durationsMs,
      windowMs: elapsedS * 1000,
    };
  }

  #sample(): void {
    try {
      this.#maxRssBytes = Math.max(this.#maxRssBytes, rssBytes(this.#server.pid));
    } catch {
      // The server is gone; the run says so elsewhere.
    }
  }
}

/** Waits (up to a minute) until the server has sent every node the newest endpoints; how long. */
async function endpointsSettled(server: Server): Promise<number> {
  const startedAt = performance.now();
  while (performance.now() - startedAt < 60_000) {
    const { nodes } = await server.request({ cmd: 'endpoints-waiting' }, 'endpoints-waiting', 30_000);
    if (nodes === 0) break;
    await sleep(POLL_MS);
  }
  return performance.now() - startedAt;
}

async function usageOver(server: Server, fleet: Fleet, windowMs: number): Promise<Usage> {
  const meter = await Meter.start(server, fleet);
  await sleep(windowMs);
  checkInterrupted();
  return meter.read();
}

/**
 * First a few requests one at a time (what one answer costs), then an open loop: a request every
 * 1/rate s whatever the answers do, the two routes taking turns, each timed to its last byte.
 */
async function apiLatency(url: string, token: string, durationMs: number): Promise<Latency> {
  const api = new RetryingApi(url, token, API_TIMEOUT_MS);
  const latency: Latency = {
    serial: { services: [], nodes: [] },
    services: [],
    nodes: [],
    late: 0,
    timedOut: 0,
    saturated: [],
  };
  for (const route of ['services', 'nodes'] as const) {
    const serialStart = performance.now();
    for (let i = 0; i < SERIAL_REQUESTS && performance.now() - serialStart < SERIAL_BUDGET_MS; i++) {
      const sentAt = performance.now();
      await api.request('GET', `/api/${route}${API_PAGE}`);
      latency.serial[route].push(performance.now() - sentAt);
    }
  }
  // A route whose one answer takes longer than its share of the rate cannot keep up: an open loop
  // would only pile up requests (minutes of them at 1,000 nodes), so it is left out and said so.
  const perRouteBudgetMs = (1000 / API_RATE_PER_S) * 2;
  const routes = (['services', 'nodes'] as const).filter((route) => {
    const alone = median(latency.serial[route]);
    if (alone <= perRouteBudgetMs) return true;
    latency.saturated.push(route);
    return false;
  });
  if (routes.length === 0) return latency;
  const inFlight = new Set<Promise<void>>();
  const intervalMs = 1000 / API_RATE_PER_S;
  const startedAt = performance.now();
  for (let i = 0; performance.now() - startedAt < durationMs; i++) {
    const wait = startedAt + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -intervalMs) latency.late++;
    // Each route keeps its own 10/s: a route left out leaves its turns empty.
    const route = i % 2 === 0 ? 'services' : 'nodes';
    if (!routes.includes(route)) continue;
    const sentAt = performance.now();
    const request = api.request('GET', `/api/${route}${API_PAGE}`).then(
      () => {
        latency[route].push(performance.now() - sentAt);
      },
      () => {
        latency.timedOut++;
      },
    );
    const tracked = request.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  return latency;
}

/** Until every service has its replicas running on nodes outside `dead`, by the API. */
async function waitReportedElsewhere(api: SkiffApi, dead: ReadonlySet<string>): Promise<void> {
  await waitUntil('the killed nodes’ replicas to be reported elsewhere', TIMEOUT_MS, POLL_MS, async () => {
    const services = await rawServices(api);
    const settled = services.every(
      (s) =>
        s.containers.filter((c) => c.status === 'running' && c.node_id !== null && !dead.has(c.node_id))
          .length >= s.replicas,
    );
    return settled ? true : undefined;
  });
}

async function failover(
  api: SkiffApi,
  server: Server,
  fleet: Fleet,
  nodes: number,
  replicas: number,
  graceMs: number,
): Promise<Failover> {
  const random = seededRandom(SEED);
  // The fleet's names (sim-0001 …): GET /api/nodes costs the server a task-table read per node.
  const names = Array.from({ length: nodes }, (_, i) => `sim-${String(i + 1).padStart(4, '0')}`);
  const victims = new Set<string>();
  const count = Math.max(1, Math.round(nodes * FAILED_NODE_SHARE));
  while (victims.size < count) victims.add(names[Math.floor(random() * names.length)] ?? '');
  const onVictims = (await rawServices(api))
    .flatMap((s) => s.containers)
    .filter((c) => c.status === 'running' && c.node_id !== null && victims.has(c.node_id)).length;
  // They die in one instant and go down in one pass: one of them tells when. A server that was
  // overloaded a moment ago may still be calling nodes unreachable: start from a ready one.
  const [watched] = victims;
  await waitUntil('the first victim to be ready', TIMEOUT_MS, POLL_MS, async () =>
    (await api.node(watched ?? '')).status === 'ready' ? true : undefined,
  );
  // Messages arrive in order: the meter's request below is answered after this is taken.
  server.send({ cmd: 'trace-start' });
  const meter = await Meter.start(server, fleet);
  const killedAt = performance.now();
  await fleet.request({ cmd: 'kill', names: [...victims] }, 'killed', 30_000);
  const down = waitUntil('the killed nodes to be down', TIMEOUT_MS, 100, async () =>
    (await api.node(watched ?? '')).status === 'down' ? true : undefined,
  ).then(() => performance.now() - killedAt);
  const ran = await fleet.request(
    { cmd: 'wait-running', expected: replicas, trace: true },
    'running',
    TIMEOUT_MS,
  );
  const runningMs = performance.now() - killedAt;
  const usage = await meter.read();
  await waitReportedElsewhere(api, victims);
  const reportedMs = performance.now() - killedAt;
  const traced = await server.request({ cmd: 'trace', nodes: [...victims] }, 'trace', 30_000);
  const trace = failoverTrace(performance.timeOrigin + killedAt, graceMs, traced, ran);
  return {
    killed: victims.size,
    replicas: onVictims,
    downMs: await down,
    runningMs,
    reportedMs,
    graceMs,
    trace,
    usage,
  };
}

/**
 * Where a failover's time went, in ms after the kill (epoch ms across the three processes): when
 * the server saw the connections drop, the passes during the grace, the pass that called the
 * nodes down (its steps, what it sent), the passes after it, when the agents got their
 * assignments, and how the replicas came up on their engines (the fleet looks every 25 ms).
 */
function failoverTrace(
  killedAt: number,
  graceMs: number,
  traced: Extract<ServerReply, { event: 'trace' }>,
  ran: Extract<FleetReply, { event: 'running' }>,
): string {
  const at = (t: number) => `+${fmtMs(t - killedAt)}`;
  const seen = traced.lastSeen.filter((t) => t > 0);
  const downPass = traced.passes.find((pass) => pass.downs > 0);
  const samples = ran.samples ?? [];
  if (!downPass || samples.length === 0 || seen.length === 0) return 'no trace (no down pass recorded)';
  seen.sort((a, b) => a - b);
  const dropped = [seen[0] ?? 0, seen.at(-1) ?? 0];
  const quartiles = [0.25, 0.5, 0.75].map((q) => at(seen[Math.floor(q * (seen.length - 1))] ?? 0));
  const graceEnds = (dropped[1] ?? 0) + graceMs;
  const downStart = downPass.endedAt - downPass.ms;
  const before = traced.passes.filter((pass) => pass.endedAt < downPass.endedAt);
  const allRan = samples.at(-1)?.[0] ?? downPass.endedAt;
  const after = traced.passes.filter((pass) => pass.endedAt > downPass.endedAt && pass.endedAt <= allRan);
  const assigned = (ran.assignedAt ?? []).filter((t) => t >= downStart).sort((a, b) => a - b);
  const base = samples[0]?.[1] ?? 0;
  const expected = samples.at(-1)?.[1] ?? base;
  const reach = (share: number) => {
    const sample = samples.find(([, running]) => running - base >= share * (expected - base));
    return sample ? at(sample[0]) : '-';
  };
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  return (
    `dropped ${at(dropped[0] ?? 0)}–${at(dropped[1] ?? 0)} (quartiles ${quartiles.join(' ')}; grace over ${at(graceEnds)}); ` +
    `${before.length} passes before (${fmtMs(sum(before.map((p) => p.ms)))} ms); ` +
    `down pass ${at(downStart)}–${at(downPass.endedAt)}: ${downPass.downs} down, ${fmtMs(downPass.ms)} ms ` +
    `(read ${fmtMs(downPass.readMs)}, plan ${fmtMs(downPass.planMs)}, write ${fmtMs(downPass.writeMs)}, ` +
    `send ${fmtMs(downPass.sendMs)}; ${downPass.inserted} inserted, ${downPass.assignments} assignments, ` +
    `endpoints to ${downPass.endpointNodes}); ${after.length} passes after until all ran ` +
    `(${fmtMs(sum(after.map((p) => p.ms)))} ms; assignments in them ${sum(after.map((p) => p.assignments))}); ` +
    `${assigned.length} agents assigned, half by ${assigned.length ? at(assigned[Math.floor(assigned.length / 2)] ?? 0) : '-'}, ` +
    `last ${assigned.length ? at(assigned.at(-1) ?? 0) : '-'}; running on the engines: first ${reach(0.001)}, ` +
    `half ${reach(0.5)}, 90% ${reach(0.9)}, all ${reach(1)}; ` +
    `fleet event-loop delay p99 ${fmtMs(ran.loopDelayP99Ms)} ms, max ${fmtMs(ran.loopDelayMaxMs)} ms`
  );
}

function emptyResult(nodes: number): Result {
  return {
    nodes,
    replicas: nodes * REPLICAS_PER_NODE,
    registerMs: undefined,
    deploy: undefined,
    fill: undefined,
    deployUsage: undefined,
    fillUsage: undefined,
    idle: undefined,
    churn: undefined,
    apiIdle: undefined,
    apiChurn: undefined,
    failover: undefined,
    counters: undefined,
    endpointsSettledMs: undefined,
    notes: [],
  };
}

async function runSize(nodes: number, dataDir: string): Promise<Result> {
  const result = emptyResult(nodes);
  const { replicas } = result;
  const blocks = replicas / (BLOCK.plain + BLOCK.checked);
  const server: Server = new IpcChild(
    'server',
    join(REPO, 'bench/harness/control-plane-server.ts'),
    ['--data-dir', dataDir],
    serverReplySchema,
    // As `skiff server` runs (bin/skiff): the product's Node options and malloc arenas.
    [...readNodeFlags('server'), ...values['server-node-args'].split(' ').filter((arg) => arg !== '')],
    { MALLOC_ARENA_MAX: '1', ...compileCacheEnv(), ...process.env, ...SERVER_ENV },
  );
  let fleet: Fleet | undefined;
  try {
    const listening = await server.next('listening', 30_000);
    const api = new RetryingApi(listening.url, listening.adminToken, 120_000);
    fleet = new IpcChild(
      'sim-agents',
      join(REPO, 'bench/sim-agents.ts'),
      [
        '--server',
        listening.url,
        `--join-token=${listening.joinToken}`,
        '--nodes',
        String(nodes),
        '--cpus',
        String(NODE_CPUS),
        '--memory-mb',
        String(NODE_MEMORY_MB),
        '--start-delay-ms',
        values['start-delay-ms'],
        '--stats-interval',
        values['stats-interval'],
        '--seed',
        String(SEED),
        '--agent',
        values.agent,
      ],
      fleetReplySchema,
    );
    const started = await fleet.next('started', TIMEOUT_MS);
    result.registerMs = started.ms;
    await api.waitReadyNodes('every simulated node to be ready', TIMEOUT_MS, POLL_MS, (n) => n === nodes);
    progress(`${nodes} nodes: agents registered in ${fmtMs(started.ms)} ms`);

    const measuredBlocks = Math.min(blocks, DEPLOY_MEASURED_REPLICAS / (BLOCK.plain + BLOCK.checked));
    const deployStart = performance.now();
    const deployMeter = await Meter.start(server, fleet);
    for (let b = 0; b < measuredBlocks; b++) for (const spec of blockSpecs(b)) await api.deploy(spec);
    result.deploy = await untilRunning(
      api,
      fleet,
      'the deployed replicas',
      measuredBlocks * 100,
      deployStart,
    );
    result.deployUsage = await deployMeter.read();
    progress(`${nodes} nodes: deploy ${measuredBlocks * 100} replicas: ${timing(result.deploy)}`);
    let filled = true;
    if (blocks > measuredBlocks) {
      const fillStart = performance.now();
      const fillMeter = await Meter.start(server, fleet);
      try {
        for (let b = measuredBlocks; b < blocks; b++)
          for (const spec of blockSpecs(b)) await api.deploy(spec);
        result.fill = await untilRunning(
          api,
          fleet,
          `all ${replicas} replicas`,
          replicas,
          fillStart,
          FILL_TIMEOUT_MS,
        );
        progress(`${nodes} nodes: fill to ${replicas} replicas: ${timing(result.fill)}`);
      } catch (error) {
        filled = false;
        const counters = (await fleet.request({ cmd: 'counters' }, 'counters', 120_000)).counters;
        result.notes.push(
          `the fill did not finish: ${errorText(error)}; then ${grouped(counters.runningSlots)} of ${grouped(replicas)} ` +
            `slots ran on the agents and ${grouped(counters.registered)} of ${grouped(nodes)} agents were connected ` +
            `(${grouped(counters.connects)} connections made in all); churn and node failures not measured`,
        );
        progress(`${nodes} nodes: fill failed: ${errorText(error)}`);
      } finally {
        result.fillUsage = await fillMeter.read();
      }
    }
    if (!filled) {
      result.idle = await usageOver(server, fleet, WINDOW_MS);
      result.apiIdle = await apiLatency(listening.url, listening.adminToken, WINDOW_MS);
      result.counters = (await fleet.request({ cmd: 'counters' }, 'counters', 120_000)).counters;
      return result;
    }
    // Let the last reports and health checks settle before calling anything idle, and the fill's
    // endpoints reach every agent (1.3 MB to each of 1,000 TLS connections is seconds of writing).
    await sleep(3000);
    result.endpointsSettledMs = await endpointsSettled(server);
    result.idle = await usageOver(server, fleet, WINDOW_MS);
    progress(`${nodes} nodes: idle measured (server PID ${server.pid}: ${rssSplit(server.pid)})`);
    if (values['idle-signal'] !== '') {
      process.kill(server.pid, values['idle-signal'] as NodeJS.Signals);
      progress(`${nodes} nodes: sent ${values['idle-signal']} to the server`);
    }
    result.apiIdle = await apiLatency(listening.url, listening.adminToken, WINDOW_MS);
    progress(`${nodes} nodes: API latency (idle) measured`);

    fleet.send({ cmd: 'churn', perSecond: CHURN_PER_S });
    await sleep(2000);
    result.churn = await usageOver(server, fleet, WINDOW_MS);
    progress(`${nodes} nodes: churn measured`);
    result.apiChurn = await apiLatency(listening.url, listening.adminToken, WINDOW_MS);
    fleet.send({ cmd: 'stop-churn' });
    progress(`${nodes} nodes: API latency (churn) measured`);
    await untilRunning(api, fleet, 'every replica again after the churn', replicas, performance.now());
    // Let nodes the churn's load made look silent come back before anything is killed.
    await sleep(5000);

    result.failover = await failover(api, server, fleet, nodes, replicas, listening.downAfterMs);
    progress(`${nodes} nodes: failover measured`);
    result.counters = (await fleet.request({ cmd: 'counters' }, 'counters', 30_000)).counters;
  } catch (error) {
    result.notes.push(`run stopped: ${errorText(error)}`);
    process.stderr.write(`${nodes} nodes: ${errorText(error)}\n`);
    process.stderr.write(`last server output:\n  ${server.lines.slice(-15).join('\n  ')}\n`);
    if (fleet) process.stderr.write(`last sim-agents output:\n  ${fleet.lines.slice(-15).join('\n  ')}\n`);
  } finally {
    await fleet?.stop();
    await server.stop();
  }
  return result;
}

/**
 * Node's compile cache where bin/skiff puts it: with a warm cache the server never loads Node's
 * TypeScript stripper (amaro: its source, WebAssembly and code, 10–18 MB), as `skiff server` does
 * not; without it the bench measured a server carrying what the product's does not.
 */
function compileCacheEnv(): Record<string, string> {
  const cacheHome =
    process.env.XDG_CACHE_HOME ?? (process.env.HOME ? join(process.env.HOME, '.cache') : undefined);
  return cacheHome ? { NODE_COMPILE_CACHE: join(cacheHome, 'skiff', 'node-compile-cache') } : {};
}

/** The server's resident memory now, anonymous (heaps) and file-backed (Node's executable). */
function rssSplit(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0);
    return `RSS ${(kb('VmRSS') / 1024).toFixed(0)} MB, anon ${(kb('RssAnon') / 1024).toFixed(0)}, file ${(kb('RssFile') / 1024).toFixed(0)}`;
  } catch {
    return 'gone';
  }
}

function progress(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

const mb = (bytes: number | undefined) =>
  bytes === undefined ? '-' : `${(bytes / 1024 ** 2).toFixed(0)} MB`;
const core = (share: number | undefined) => (share === undefined ? '-' : `${(share * 100).toFixed(1)}%`);
const p = (values: readonly number[] | undefined, q: number) =>
  values && values.length > 0 ? fmtMs(q === 50 ? median(values) : percentile(values, q)) : '-';
const timing = (t: Timing | undefined) =>
  t
    ? `running on the agents after ${fmtMs(t.runningMs)} ms, reported by the API after ${fmtMs(t.reportedMs)} ms`
    : '-';

function print(result: Result): void {
  out();
  out(
    `control plane at ${grouped(result.nodes)} nodes, ${grouped(result.replicas)} replicas ` +
      `(${grouped((result.replicas * BLOCK.checked) / 100)} with a health check every 1s)`,
  );
  out(`  agents registered: ${fmtMs(result.registerMs)} ms`);
  out(
    `  deploy ${grouped(Math.min(result.replicas, DEPLOY_MEASURED_REPLICAS))} replicas: ${timing(result.deploy)}`,
  );
  if (result.replicas > DEPLOY_MEASURED_REPLICAS)
    out(`  fill to ${grouped(result.replicas)} replicas: ${timing(result.fill)}`);
  if (result.endpointsSettledMs !== undefined)
    out(
      `  idle measured once the fill's endpoints reached every agent: ${fmtMs(result.endpointsSettledMs)} ms after the 3 s settle`,
    );
  const usageRow = (name: string, u: Usage | undefined) => [
    name,
    mb(u?.serverRssBytes),
    core(u?.serverCpu),
    p(u?.passesMs, 50),
    p(u?.passesMs, 99),
    u ? (u.passesMs.length / (u.windowMs / 1000)).toFixed(1) : '-',
    core(u?.fleetCpu),
  ];
  out(
    table(
      [
        '  window',
        'server RSS (max)',
        'server CPU',
        'pass p50 ms',
        'pass p99 ms',
        'passes/s',
        'sim agents CPU',
      ],
      [
        usageRow(
          `  deploy ${grouped(Math.min(result.replicas, DEPLOY_MEASURED_REPLICAS))}`,
          result.deployUsage,
        ),
        ...(result.replicas > DEPLOY_MEASURED_REPLICAS
          ? [usageRow(`  fill to ${grouped(result.replicas)}`, result.fillUsage)]
          : []),
        usageRow('  idle', result.idle),
        usageRow(`  churn ${CHURN_PER_S}/s`, result.churn),
      ],
    ),
  );
  const apiRow = (name: string, l: Latency | undefined) => [
    name,
    `${p(l?.serial.services, 50)} / ${p(l?.serial.nodes, 50)}`,
    p(l?.services, 50),
    p(l?.services, 99),
    p(l?.nodes, 50),
    p(l?.nodes, 99),
    l ? `${l.late} / ${l.timedOut}` : '-',
  ];
  const saturated = (name: string, l: Latency | undefined) =>
    l && l.saturated.length > 0
      ? [
          `  ${name}: no load on ${l.saturated.map((r) => `/api/${r}`).join(', ')}: one answer alone takes longer than 20 req/s allow`,
        ]
      : [];
  out(
    table(
      [
        '  API, 20 req/s',
        'alone ms (services / nodes)',
        'services p50',
        'p99',
        'nodes p50',
        'p99',
        'late / timed out',
      ],
      [apiRow('  idle', result.apiIdle), apiRow('  churn', result.apiChurn)],
    ),
  );
  for (const line of [...saturated('idle', result.apiIdle), ...saturated('churn', result.apiChurn)])
    out(line);
  const f = result.failover;
  if (f) {
    out(
      `  ${f.killed} nodes killed at once (${grouped(f.replicas)} replicas on them): down after ${fmtMs(f.downMs)} ms; ` +
        `running elsewhere after ${fmtMs(f.runningMs)} ms = grace ${fmtMs(f.graceMs)} + ${fmtMs(f.runningMs - f.graceMs)} ms; ` +
        `reported by the API after ${fmtMs(f.reportedMs)} ms`,
    );
    out(
      `    until all ran: server CPU ${core(f.usage.serverCpu)}, sim agents ${core(f.usage.fleetCpu)}; after the kill: ${f.trace}`,
    );
  } else out('  nodes killed at once: -');
  const c = result.counters;
  if (c)
    out(
      `  the agents received ${grouped(c.messages)} messages (${mb(c.bytes)}), of them ${grouped(c.endpointsWhole)} whole endpoints sets ` +
        `(${mb(c.endpointWholeBytes)}), ${grouped(c.endpointDeltas)} endpoints deltas (${mb(c.endpointDeltaBytes)}; ${grouped(c.endpointResyncs)} did not follow) ` +
        `and ${grouped(c.assignments)} assignments; they sent ${grouped(c.reports)} reports and ${grouped(c.stats)} stats messages ` +
        `over ${grouped(c.connects)} welcomed connections; ` +
        `the churn killed ${grouped(c.churnKills)} containers`,
    );
  for (const note of result.notes) out(`  ${note}`);
}

async function main(): Promise<void> {
  abortOnSignals();
  out(
    `bench:control-plane  nodes ${SIZES.join(', ')}, window ${WINDOW_MS} ms, churn ${CHURN_PER_S}/s, seed ${SEED}, agents ${values.agent}, stats every ${values['stats-interval']}` +
      `${values['server-node-args'] ? `, server Node options ${values['server-node-args']}` : ''}` +
      `${
        Object.keys(SERVER_ENV).length
          ? `, server env ${Object.entries(SERVER_ENV)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`
          : ''
      }`,
  );
  out(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (a shared 2-core machine: CPU figures are noisy)`,
  );
  for (const nodes of SIZES) {
    const dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-cp-'));
    try {
      print(await runSize(nodes, dataDir));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    checkInterrupted();
  }
  out(`network errors retried: ${networkRetries}`);
  out(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

runMain('bench:control-plane', main);
