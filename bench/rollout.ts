/**
 * `npm run bench:rollout`: what a rolling update costs the clients of a service. A bounded,
 * rate-limited HTTP load (default 300 requests/s: 6 keep-alive loops, each paced to 50/s, never
 * catching up in bursts) goes through a published ingress port while a service rolls from
 * skiff-demo:v1 to v2, for each case of {3 replicas, 1 replica} × {Skiff's default start-first
 * rolling update (max_surge 1, max_unavailable 0, min_healthy_time 1s), a plain stop-first
 * replacement (max_surge 0, max_unavailable 1, min_healthy_time 0s: what Swarm does by default)}.
 * Target: zero failed requests in the start-first cases. Beside them, a TCP keep-alive case per
 * replica count (`app_protocol: tcp`, the kernel path, loaded on the host's own address): a
 * connection stays on its replica for its life, so keep-alive connections on an old replica are
 * cut when it stops at the end of its drain, as with kube-proxy or IPVS; its failures say so.
 *
 * Each case deploys v1 (HTTP health check every 300 ms, 2 retries; `app_protocol: http` so the
 * node's proxy balances per request), waits until it has converged and every replica has answered
 * through the port, starts the load, after 1 s of steady load posts v2, waits until the rollout is
 * complete (rollout state `complete` for the new revision, all its replicas running and healthy),
 * keeps the load 1 s more and stops it. It records the requests sent and failed (non-2xx or a
 * transport error, reasons counted, with when they happened relative to the POST), p50/p99 latency
 * over all requests, the update duration (POST → rollout seen complete, polled every 50 ms) and
 * the versions that answered. Then it deletes the service and waits until its containers are gone.
 *
 * Then the pull cases (section `pull`): the same rollout under the same load, but to an image only
 * a registry has — `options.to` plus a random layer of --pull-mb (50 MB), pushed into Debian's
 * docker-registry on a loopback port (harness/plain-registry.ts: plain HTTP, no auth) and removed
 * from the engine before each case — for each of --pull-policies, once with the rollout's pull phase (pre-pull)
 * and once with `update.pre_pull: false` (each new replica pulls as it starts). Besides the update
 * duration it reports the pull phase and the time below capacity (fewer replicas running and
 * healthy than wanted, polled every 50 ms).
 *
 * Last, the proxy's own cost (`measureProxyCost`): a closed-loop load straight at a loopback
 * backend, then through a service proxy in front of it — requests/s and p50/p99 both ways.
 *
 * Skiff runs in this process as `skiff up` composes it (server on 127.0.0.1 + one agent on the
 * default Docker engine, over a real WebSocket); the demo images must exist locally (only the pull
 * cases' image is pulled, from the loopback registry).
 * Every wait is bounded; containers and networks carrying this run's cluster label and the
 * temporary data directory are removed at the end, also on failure or Ctrl-C. Exits 0 whatever
 * the verdicts (it is a measurement), 1 if the run itself failed.
 *
 * Options: --sections load,pull,proxy (all), --rate N (300 requests/s), --loops N (6), --replicas
 * 3,1, --policies start-first,stop-first, --protocols http,tcp, --proxy-duration MS (3000), --from
 * REF (skiff-demo:v1), --to REF (skiff-demo:v2), --http-proxy auto|builtin|haproxy (the agent's;
 * auto: HAProxy when installed), --pull-mb N (50), --pull-replicas N (3), --pull-policies
 * start-first,stop-first.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Agent as HttpAgent, request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type Docker from 'dockerode';
import type { HttpProxyChoice } from '../src/agent/agent.ts';
import { DockerEngine } from '../src/docker/docker-engine.ts';
import { isSkiffBridge } from '../src/model/addressing.ts';
import type { ServiceSpecInput } from '../src/model/service-spec.ts';
import type { ServiceView } from '../src/model/views.ts';
import type { ProxyCost } from '../src/net/proxy/proxy-cost.ts';
import { measureProxyCost } from '../src/net/proxy/proxy-cost.ts';
import {
  cleanupStep,
  removeClusterNetworksUntilGone,
  serviceLabels,
  sweepClusters,
  waitGone,
} from './harness/cleanup.ts';
import { InProcessSkiff, localEngine } from './harness/in-process-skiff.ts';
import { positiveInt } from './harness/options.ts';
import type { PlainRegistry } from './harness/plain-registry.ts';
import { startPlainRegistry } from './harness/plain-registry.ts';
import { forgetPulled, pushRandomImage } from './harness/registry-image.ts';
import { errorText, out, printAgentLog, runMain, table } from './harness/report.ts';
import type { SkiffApi } from './harness/skiff-api.ts';
import { percentile } from './harness/stats.ts';
import { abortOnSignals, checkInterrupted, interrupted, sleep, waitUntil } from './harness/wait.ts';

const POLL_MS = 50;
const CONVERGE_TIMEOUT_MS = 90_000;
const SERVING_TIMEOUT_MS = 30_000;
const ROLLOUT_TIMEOUT_MS = 120_000;
/** Steady load before the update is posted, and after it completed. */
const LEAD_IN_MS = 1000;
const TAIL_MS = 1000;
/** Hard caps on one case's load, whatever happens to the rollout. */
const LOAD_MAX_MS = 180_000;
const LOAD_MAX_REQUESTS = 100_000;
const REQUEST_TIMEOUT_MS = 5000;
const CONTAINER_PORT = 8080;

type Policy = 'start-first' | 'stop-first';
/** `http`: the proxy balances per request; `tcp`: the kernel path, a connection stays on its replica. */
type AppProtocol = 'http' | 'tcp';

const UPDATE_POLICIES: Readonly<Record<Policy, NonNullable<ServiceSpecInput['update']>>> = {
  'start-first': { max_surge: 1, max_unavailable: 0, min_healthy_time: '1s' },
  'stop-first': { max_surge: 0, max_unavailable: 1, min_healthy_time: '0s' },
};

/** What the run measures: the rolling updates under load, the pull cases, the proxy's cost. */
type Section = 'load' | 'pull' | 'proxy';
/** `pre-pull`: the rollout's pull phase fetches the image first; `pull-on-start`: `update.pre_pull: false`. */
type PullMode = 'pre-pull' | 'pull-on-start';

interface Options {
  readonly sections: readonly Section[];
  readonly pullMb: number;
  readonly pullReplicas: number;
  readonly pullPolicies: readonly Policy[];
  readonly rate: number;
  readonly loops: number;
  readonly replicas: readonly number[];
  readonly policies: readonly Policy[];
  readonly proxyDurationMs: number;
  readonly protocols: readonly AppProtocol[];
  readonly from: string;
  readonly to: string;
  readonly httpProxy: HttpProxyChoice;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string', default: '300' },
      loops: { type: 'string', default: '6' },
      replicas: { type: 'string', default: '3,1' },
      policies: { type: 'string', default: 'start-first,stop-first' },
      'proxy-duration': { type: 'string', default: '3000' },
      protocols: { type: 'string', default: 'http,tcp' },
      from: { type: 'string', default: 'skiff-demo:v1' },
      to: { type: 'string', default: 'skiff-demo:v2' },
      'http-proxy': { type: 'string', default: 'auto' },
      sections: { type: 'string', default: 'load,pull,proxy' },
      'pull-mb': { type: 'string', default: '50' },
      'pull-replicas': { type: 'string', default: '3' },
      'pull-policies': { type: 'string', default: 'start-first,stop-first' },
    },
    strict: true,
  });
  const httpProxy = values['http-proxy'];
  if (httpProxy !== 'auto' && httpProxy !== 'builtin' && httpProxy !== 'haproxy')
    throw new Error(`--http-proxy: auto, builtin or haproxy, got ${httpProxy}`);
  const sections = values.sections.split(',').map((s) => {
    const section = s.trim();
    if (section !== 'load' && section !== 'pull' && section !== 'proxy')
      throw new Error(`--sections: load, pull and/or proxy, got ${section}`);
    return section;
  });
  const policyList = (flag: string, text: string) =>
    text.split(',').map((p) => {
      const policy = p.trim();
      if (policy !== 'start-first' && policy !== 'stop-first')
        throw new Error(`--${flag}: start-first and/or stop-first, got ${policy}`);
      return policy;
    });
  const policies = policyList('policies', values.policies);
  const protocols = values.protocols.split(',').map((p) => {
    const protocol = p.trim();
    if (protocol !== 'http' && protocol !== 'tcp')
      throw new Error(`--protocols: http and/or tcp, got ${protocol}`);
    return protocol;
  });
  return {
    sections,
    pullMb: positiveInt('pull-mb', values['pull-mb'], 1024),
    pullReplicas: positiveInt('pull-replicas', values['pull-replicas'], 20),
    pullPolicies: policyList('pull-policies', values['pull-policies']),
    protocols,
    rate: positiveInt('rate', values.rate, 5000),
    loops: positiveInt('loops', values.loops, 100),
    replicas: values.replicas.split(',').map((s) => positiveInt('replicas', s.trim(), 20)),
    policies,
    proxyDurationMs: positiveInt('proxy-duration', values['proxy-duration'], 60_000),
    from: values.from,
    to: values.to,
    httpProxy,
  };
}

// ---------------------------------------------------------------------------------------------
// The load

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One GET over a keep-alive agent; rejects on a transport error, a cut body or a silent backend. */
function httpGet(url: URL, agent: HttpAgent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.once('error', reject);
      res.once('close', () => {
        if (!res.complete) reject(new Error('response cut short'));
      });
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.once('error', reject);
    req.end();
  });
}

function failureReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return code === undefined ? error.message : `${code} (${error.message})`;
}

interface LoadRecord {
  readonly sent: number;
  readonly failed: number;
  readonly reasons: ReadonlyMap<string, number>;
  /** Start time (performance.now()) of every failed request. */
  readonly failureTimes: readonly number[];
  /** Every request's latency, failed ones included. */
  readonly latenciesMs: readonly number[];
  readonly versions: ReadonlyMap<string, number>;
  /** Why the load ended before it was stopped, if it did. */
  readonly capped: string | undefined;
}

interface RunningLoad {
  stop(): Promise<LoadRecord>;
}

/**
 * `loops` keep-alive clients, each sending its next GET when its previous one is answered and its
 * pace allows (rate / loops per second, loops staggered); a loop that fell behind skips ahead
 * instead of bursting. Ends when stopped, interrupted, or at maxRequests / maxMs.
 */
function boundedLoad(url: URL, rate: number, loops: number): RunningLoad {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: loops });
  const intervalMs = (1000 * loops) / rate;
  const begin = performance.now();
  const deadline = begin + LOAD_MAX_MS;
  let stopped = false;
  let sent = 0;
  let failed = 0;
  let capped: string | undefined;
  const reasons = new Map<string, number>();
  const failureTimes: number[] = [];
  const latenciesMs: number[] = [];
  const versions = new Map<string, number>();
  const fail = (at: number, reason: string) => {
    failed++;
    failureTimes.push(at);
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };
  const loop = async (index: number) => {
    let next = begin + (index * intervalMs) / loops;
    for (;;) {
      if (stopped || interrupted.signal.aborted) return;
      if (sent >= LOAD_MAX_REQUESTS) {
        capped ??= `stopped at ${LOAD_MAX_REQUESTS} requests`;
        return;
      }
      const now = performance.now();
      if (now >= deadline) {
        capped ??= `stopped after ${LOAD_MAX_MS} ms`;
        return;
      }
      if (next > now) {
        await sleep(next - now);
        continue;
      }
      // Behind by more than one interval (a slow answer): skip ahead rather than burst.
      if (now - next > intervalMs) next = now;
      next += intervalMs;
      sent++;
      const started = performance.now();
      try {
        const answer = await httpGet(url, agent);
        if (answer.status < 200 || answer.status > 299)
          fail(started, `HTTP ${answer.status}: ${answer.body.trim().slice(0, 80)}`);
        const version = /version (v\d+)/.exec(answer.body)?.[1];
        if (version) versions.set(version, (versions.get(version) ?? 0) + 1);
      } catch (error) {
        fail(started, failureReason(error));
      }
      latenciesMs.push(performance.now() - started);
    }
  };
  const running = Array.from({ length: loops }, (_, i) => loop(i));
  return {
    async stop() {
      stopped = true;
      await Promise.all(running);
      agent.destroy();
      return { sent, failed, reasons, failureTimes, latenciesMs, versions, capped };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One case

interface CaseResult {
  readonly label: string;
  readonly policy: Policy;
  readonly load: LoadRecord;
  /** POST of the new version → rollout seen complete; undefined when it did not complete. */
  readonly updateMs: number | undefined;
  /** The rollout's own record (server clock): started_at → finished_at. */
  readonly recordedMs: number | undefined;
  /** How the rollout ended: `complete`, or its failed/rolled_back state and message. */
  readonly outcome: string;
  readonly postAt: number;
  /**
   * POST → complete, the time fewer replicas than wanted were running and healthy (of either
   * revision, as polled every 50 ms): the capacity the update cost.
   */
  readonly belowCapacityMs: number;
  /** The rollout's pull phase (server clock), when it had one. */
  readonly pullPhaseMs: number | undefined;
}

/** One case's service and image, when not the load section's. */
interface CaseVariant {
  readonly name: string;
  readonly label: string;
  readonly to: string;
  /** `update.pre_pull` (absent: the service's default, true). */
  readonly prePull?: boolean;
}

function specFor(
  name: string,
  image: string,
  replicas: number,
  policy: Policy,
  hostPort: number,
  appProtocol: AppProtocol,
  prePull?: boolean,
) {
  return {
    name,
    image,
    replicas,
    ports: [{ container_port: CONTAINER_PORT, host_port: hostPort, app_protocol: appProtocol }],
    health_check: {
      type: 'http' as const,
      endpoint: `http://localhost:${CONTAINER_PORT}/health`,
      interval: '300ms',
      retries: 2,
    },
    update: { ...UPDATE_POLICIES[policy], ...(prePull === undefined ? {} : { pre_pull: prePull }) },
  } satisfies ServiceSpecInput;
}

/** The revision's replicas, all running and passing their check, and its rollout complete. */
function convergedOn(view: ServiceView, revision: number): boolean {
  const current = view.containers.filter((c) => c.revision === revision);
  return (
    view.revision === revision &&
    view.rollout?.state === 'complete' &&
    view.rollout.to_revision === revision &&
    current.length === view.replicas &&
    current.every((c) => c.status === 'running' && c.health === 'healthy')
  );
}

/** Until every replica has answered through the published port: the proxy knows them all. */
async function waitServing(url: URL, replicas: number, what: string): Promise<void> {
  const agent = new HttpAgent({ keepAlive: false });
  const seen = new Set<string>();
  try {
    await waitUntil(what, SERVING_TIMEOUT_MS, 20, async () => {
      try {
        const answer = await httpGet(url, agent);
        const replica = /hello from (\S+) version/.exec(answer.body)?.[1];
        if (answer.status === 200 && replica) seen.add(replica);
      } catch {
        // Not listening yet.
      }
      return seen.size >= replicas ? true : undefined;
    });
  } finally {
    agent.destroy();
  }
}

async function runCase(
  api: SkiffApi,
  docker: Docker,
  clusterId: string,
  options: Options,
  replicas: number,
  policy: Policy,
  hostPort: number,
  protocol: AppProtocol,
  onLoad: (load: RunningLoad | undefined) => void,
  variant?: CaseVariant,
): Promise<CaseResult> {
  const name = variant?.name ?? `roll-r${replicas}-${policy}${protocol === 'tcp' ? '-tcp' : ''}`;
  const label =
    variant?.label ??
    `${replicas} replica${replicas === 1 ? '' : 's'}, ${policy}${protocol === 'tcp' ? ', tcp keep-alive' : ''}`;
  const to = variant?.to ?? options.to;
  const prePull = variant?.prePull;
  // Loopback is served in user space (a DNAT cannot take it off the host): the kernel path is
  // measured on the host's own address.
  const url = new URL(`http://${protocol === 'tcp' ? hostAddress() : '127.0.0.1'}:${hostPort}/`);

  const first = await api.deploy(specFor(name, options.from, replicas, policy, hostPort, protocol, prePull));
  await waitUntil(`${name} v1 to converge`, CONVERGE_TIMEOUT_MS, POLL_MS, async () => {
    const view = await api.service(name);
    if (view.rollout?.state === 'failed' || view.rollout?.state === 'rolled_back')
      throw new Error(`${name}: first deploy ${view.rollout.state}: ${view.rollout.message ?? ''}`);
    return convergedOn(view, first.revision) ? true : undefined;
  });
  await waitServing(url, replicas, `all ${replicas} replica(s) of ${name} to answer on :${hostPort}`);

  const load = boundedLoad(url, options.rate, options.loops);
  onLoad(load);
  let record: LoadRecord | undefined;
  try {
    await sleep(LEAD_IN_MS);
    checkInterrupted();
    const postAt = performance.now();
    const updated = await api.deploy(specFor(name, to, replicas, policy, hostPort, protocol, prePull));
    if (updated.revision === first.revision) throw new Error(`${name}: deploying ${to} made no new revision`);
    let belowCapacityMs = 0;
    let polledAt = postAt;
    const settled = await waitUntil(
      `the rollout of ${name} to revision ${updated.revision}`,
      ROLLOUT_TIMEOUT_MS,
      POLL_MS,
      async () => {
        const view = await api.service(name);
        const at = performance.now();
        const serving = view.containers.filter((c) => c.status === 'running' && c.health === 'healthy');
        if (serving.length < replicas) belowCapacityMs += at - polledAt;
        polledAt = at;
        const rollout = view.rollout;
        if (rollout?.to_revision === updated.revision && rollout.state !== 'in_progress') {
          if (rollout.state !== 'complete')
            return { at: performance.now(), view, outcome: `${rollout.state}: ${rollout.message ?? ''}` };
          if (convergedOn(view, updated.revision))
            return { at: performance.now(), view, outcome: 'complete' };
        }
        return undefined;
      },
    );
    await sleep(TAIL_MS);
    record = await load.stop();
    onLoad(undefined);
    const rollout = settled.view.rollout;
    const recordedMs =
      rollout?.finished_at == null
        ? undefined
        : Date.parse(rollout.finished_at) - Date.parse(rollout.started_at);
    const complete = settled.outcome === 'complete';
    const pull = rollout?.pull;
    return {
      label,
      policy,
      load: record,
      updateMs: complete ? settled.at - postAt : undefined,
      recordedMs: complete ? recordedMs : undefined,
      outcome: settled.outcome,
      postAt,
      belowCapacityMs,
      pullPhaseMs:
        pull?.finished_at == null ? undefined : Date.parse(pull.finished_at) - Date.parse(pull.started_at),
    };
  } finally {
    if (record === undefined) {
      await load.stop();
      onLoad(undefined);
    }
    await api.request('DELETE', `/api/services/${name}`).catch((error: unknown) => {
      process.stderr.write(`deleting ${name}: ${errorText(error)}\n`);
    });
    // Part of the case's cleanup: runs to the end even after Ctrl-C.
    await waitGone(docker, serviceLabels(clusterId, name), `the containers of ${name} to be removed`, {
      intervalMs: 100,
      interruptible: false,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Set-up, report, clean-up

/** This host's first IPv4 address that is neither loopback nor on a Skiff network. */
function hostAddress(): string {
  const found = Object.entries(networkInterfaces())
    .filter(([name]) => !isSkiffBridge(name))
    .flatMap(([, list]) => list ?? [])
    .find((a) => a.family === 'IPv4' && !a.internal);
  if (!found) throw new Error('this host has no non-loopback IPv4 address for the tcp cases');
  return found.address;
}

async function freePort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '0.0.0.0', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (port > 0 && !taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('found no free port');
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
const seconds = (value: number | undefined) => (value === undefined ? '-' : (value / 1000).toFixed(2));

function versionsText(versions: ReadonlyMap<string, number>): string {
  return (
    [...versions.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([v, n]) => `${v}:${n}`)
      .join(' ') || '-'
  );
}

function verdict(result: CaseResult): string {
  if (result.outcome !== 'complete') return `rollout ${result.outcome.split(':')[0]}`;
  return result.load.failed === 0 ? 'zero failures' : `FAILED ${result.load.failed}`;
}

function caseDetails(result: CaseResult): string[] {
  const lines: string[] = [];
  const { load } = result;
  const achieved = load.latenciesMs.length;
  if (result.outcome !== 'complete') lines.push(`    rollout did not complete: ${result.outcome}`);
  if (load.capped) lines.push(`    load ${load.capped}`);
  if (result.recordedMs !== undefined)
    lines.push(
      `    rollout record (server clock): ${seconds(result.recordedMs)} s; requests answered: ${achieved}`,
    );
  if (load.failed > 0) {
    const offsets = load.failureTimes.map((t) => (t - result.postAt) / 1000);
    lines.push(
      `    failures sent between +${Math.min(...offsets).toFixed(2)} s and +${Math.max(...offsets).toFixed(2)} s after the POST:`,
    );
    const reasons = [...load.reasons.entries()].sort((a, b) => b[1] - a[1]);
    for (const [reason, count] of reasons) lines.push(`      ${String(count).padStart(6)} × ${reason}`);
  }
  return lines;
}

function proxyLines(cost: ProxyCost): string[] {
  const row = (path: string, f: ProxyCost['direct']) => [
    path,
    String(f.requests),
    String(f.errors),
    String(f.requestsPerSecond),
    ms(f.p50Ms),
    ms(f.p99Ms),
    ms(f.maxMs),
  ];
  return [
    table(
      ['path', 'requests', 'errors', 'req/s', 'p50 ms', 'p99 ms', 'max ms'],
      [row('direct to the backend', cost.direct), row('through the HTTP proxy', cost.proxied)],
    ),
    `  throughput through the proxy: ${(cost.throughputRatio * 100).toFixed(0)}% of direct; added p99: ${cost.addedP99Ms.toFixed(2)} ms`,
  ];
}

/** The repository the pull cases push to and pull from, in the test registry. */
const PULL_REPOSITORY = 'bench-pull/app';

/**
 * The pull cases: for each policy, a rollout from `options.from` to an image only the registry
 * has (a random layer of `--pull-mb`), once with the pull phase (pre-pull) and once pulling when
 * each new replica starts (`update.pre_pull: false`), under the same load as the load section,
 * the image removed from the engine before each case, from a registry on a loopback port.
 */
async function runPullSection(
  api: SkiffApi,
  docker: Docker,
  clusterId: string,
  options: Options,
  taken: Set<number>,
  onLoad: (load: RunningLoad | undefined) => void,
): Promise<void> {
  const registry = await startPlainRegistry();
  try {
    await runPullCases(api, docker, clusterId, options, taken, onLoad, registry);
  } finally {
    await cleanupStep(() => registry.stop());
  }
}

async function runPullCases(
  api: SkiffApi,
  docker: Docker,
  clusterId: string,
  options: Options,
  taken: Set<number>,
  onLoad: (load: RunningLoad | undefined) => void,
  registry: PlainRegistry,
): Promise<void> {
  const tag = `v2-${randomUUID().slice(0, 8)}`;
  const image = await pushRandomImage(
    docker,
    (local, repositoryTag) => registry.push(local, repositoryTag),
    options.to,
    PULL_REPOSITORY,
    tag,
    options.pullMb,
  );
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  out(
    `Rollout to an image pulled from the registry: ${options.from} → ${image.reference} (${mb(image.imageBytes)} MB image, of it a ${mb(image.layerBytes)} MB random layer no local image has),`,
  );
  out(
    `  ${options.pullReplicas} replicas, one node, same load; the image removed from the engine before each case. pre-pull: the rollout's pull phase; pull-on-start: update.pre_pull false.`,
  );
  const modes: readonly PullMode[] = ['pre-pull', 'pull-on-start'];
  const results: { mode: PullMode; result: CaseResult }[] = [];
  try {
    for (const policy of options.pullPolicies) {
      for (const mode of modes) {
        checkInterrupted();
        await forgetPulled(docker, registry.host, PULL_REPOSITORY);
        const result = await runCase(
          api,
          docker,
          clusterId,
          options,
          options.pullReplicas,
          policy,
          await freePort(taken),
          'http',
          onLoad,
          {
            name: `pull-${policy}-${mode}`,
            label: `${options.pullReplicas} replicas, ${policy}, ${mode}`,
            to: image.reference,
            prePull: mode === 'pre-pull',
          },
        );
        results.push({ mode, result });
        out(
          `  ${result.label}: update ${seconds(result.updateMs)} s, below capacity ${seconds(result.belowCapacityMs)} s, ${result.load.failed} of ${result.load.sent} failed, ${verdict(result)}`,
        );
      }
    }
  } finally {
    await cleanupStep(async () => {
      await forgetPulled(docker, registry.host, PULL_REPOSITORY);
    });
  }
  out('');
  out('Rollout with pre-pull against pull-on-start (the new image pulled from the registry):');
  out(
    table(
      [
        'policy',
        'mode',
        'update s',
        'pull phase s',
        'below capacity s',
        'sent',
        'failed',
        'p99 ms',
        'verdict',
      ],
      results.map(({ mode, result: r }) => [
        r.policy,
        mode,
        seconds(r.updateMs),
        seconds(r.pullPhaseMs),
        seconds(r.belowCapacityMs),
        String(r.load.sent),
        String(r.load.failed),
        ms(percentile(r.load.latenciesMs, 99)),
        verdict(r),
      ]),
    ),
  );
  for (const { result: r } of results) {
    const details = caseDetails(r);
    if (details.length > 0) {
      out(`  ${r.label}:`);
      for (const line of details) out(line);
    }
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  abortOnSignals();
  const docker = await localEngine([options.from, options.to]);

  const runId = randomUUID().slice(0, 8);
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-rollout-'));
  const serverLog: string[] = [];
  const skiff = new InProcessSkiff();
  let activeLoad: RunningLoad | undefined;
  let failedRun = false;
  try {
    const { api, server } = await skiff.up(
      dataDir,
      {
        engine: new DockerEngine(),
        name: `bench-${runId}`,
        dataDir: join(dataDir, 'agent'),
        httpProxy: options.httpProxy,
      },
      (message) => serverLog.push(message),
    );

    out(
      `Skiff rollout benchmark: ${options.from} → ${options.to} under load, one node (in-process server + agent, --http-proxy ${options.httpProxy}: ${skiff.agent?.httpProxy ?? '?'} serves HTTP).`,
    );
    out(
      `  load: ${options.rate} req/s target (${options.loops} keep-alive loops × ${(options.rate / options.loops).toFixed(0)}/s) to http://127.0.0.1:<published port>/,` +
        ` ${LEAD_IN_MS} ms before the POST until ${TAIL_MS} ms after the rollout completed.`,
    );
    out(
      `  start-first: update ${JSON.stringify(UPDATE_POLICIES['start-first'])}; stop-first: update ${JSON.stringify(UPDATE_POLICIES['stop-first'])}.`,
    );
    out(
      '  failed = non-2xx or transport error; p50/p99 over all requests; update = POST → rollout seen complete (polled every 50 ms).',
    );
    out('');

    const taken = new Set<number>();
    if (options.sections.includes('load')) {
      const results: CaseResult[] = [];
      const cases = options.protocols.flatMap((protocol) =>
        options.replicas.flatMap((replicas) =>
          // One tcp case per replica count: what a pinned connection meets in Skiff's default update.
          (protocol === 'tcp' ? options.policies.filter((p) => p === 'start-first') : options.policies).map(
            (policy) => ({ protocol, replicas, policy }),
          ),
        ),
      );
      for (const { protocol, replicas, policy } of cases) {
        checkInterrupted();
        const hostPort = await freePort(taken);
        const result = await runCase(
          api,
          docker,
          server.clusterId,
          options,
          replicas,
          policy,
          hostPort,
          protocol,
          (l) => {
            activeLoad = l;
          },
        );
        results.push(result);
        out(
          `  ${result.label}: ${result.load.sent} sent, ${result.load.failed} failed, update ${seconds(result.updateMs)} s, ${verdict(result)}`,
        );
      }

      out('');
      out('Rolling update under load (target: zero failed requests with start-first):');
      out(
        table(
          ['case', 'sent', 'failed', 'p50 ms', 'p99 ms', 'update s', 'versions seen', 'verdict'],
          results.map((r) => [
            r.label,
            String(r.load.sent),
            String(r.load.failed),
            ms(percentile(r.load.latenciesMs, 50)),
            ms(percentile(r.load.latenciesMs, 99)),
            seconds(r.updateMs),
            versionsText(r.load.versions),
            verdict(r),
          ]),
        ),
      );
      for (const r of results) {
        const details = caseDetails(r);
        if (details.length > 0) {
          out(`  ${r.label}:`);
          for (const line of details) out(line);
        }
      }
      out('');
    }

    if (options.sections.includes('pull')) {
      checkInterrupted();
      await runPullSection(api, docker, server.clusterId, options, taken, (l) => {
        activeLoad = l;
      });
      out('');
    }

    const proxies = options.sections.includes('proxy') ? (['builtin', 'haproxy'] as const) : [];
    for (const proxy of proxies) {
      checkInterrupted();
      if (proxy === 'haproxy' && skiff.agent?.httpProxy !== 'haproxy') continue;
      const cost = await measureProxyCost({
        durationMs: options.proxyDurationMs,
        warmupMs: 500,
        concurrency: 50,
        proxy,
      });
      out(
        `Proxy cost, ${proxy} (measureProxyCost: ${cost.concurrency} closed-loop keep-alive clients, ${options.proxyDurationMs} ms per path, loopback backend):`,
      );
      for (const line of proxyLines(cost)) out(line);
    }
  } catch (error) {
    failedRun = true;
    throw error;
  } finally {
    if (activeLoad) await activeLoad.stop();
    await skiff.stop();
    const clusterId = skiff.clusterId;
    if (clusterId) {
      // One container at a time: each case has already deleted its service and waited for its
      // containers to go, so only stragglers are left.
      await cleanupStep(async () => {
        await sweepClusters(docker, [clusterId], 1);
        await removeClusterNetworksUntilGone(docker, clusterId);
      });
    }
    await rm(dataDir, { recursive: true, force: true });
    printAgentLog(skiff.notableAgentLog());
    if (failedRun && serverLog.length > 0) {
      process.stderr.write(`server log (last 20 of ${serverLog.length}):\n`);
      for (const line of serverLog.slice(-20)) process.stderr.write(`  ${line}\n`);
    }
  }
}

runMain('bench:rollout', main);
