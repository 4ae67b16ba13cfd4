/**
 * `npm run bench:deploy`: how long Skiff takes from `POST /api/deploy` of N replicas to all N
 * running, beside the raw floor measured in the same run — the same number of containers, with
 * the same create body, created and started straight through the Engine API at the same
 * concurrency as the agent's engine operations. Target: Skiff within 1.3× of the floor.
 *
 * Skiff runs in this process as `skiff up` composes it (server + agent over a real WebSocket).
 * Everything it creates (containers by label, the temporary data directory) is removed at the
 * end, also on failure. It exits 0 whatever the verdict: it is a measurement.
 *
 * Then `skiff rm` of a service whose PID 1 ignores SIGTERM (`--rm-image`, skiff-demo:v1-noterm):
 * DELETE → every container gone from the engine. Each replica waits out the drain timeout and its
 * whole stop grace period before SIGKILL, so the floor is drain + grace whatever N; the goal is
 * within drain + grace + 3 s, because stops run in parallel and hold no engine-semaphore slot.
 * Beside it, the engine's own floor: the same N containers stopped at once and removed straight
 * through the Engine API (no drain), which shows how long the engine itself takes to tear down N.
 *
 * Options: --concurrency N (8), --trials N (3), --replicas 10,30, --image REF (skiff-demo:v1),
 * --warmup N (2 containers each way before measuring; 0 for none), --trace (where Skiff's time goes),
 * --rm-replicas 10,100 (0 for none), --rm-image REF (skiff-demo:v1-noterm),
 * --store etcd|etcd://HOST:PORT[,…][/prefix] (the server on etcd: `etcd` starts a 3-member test
 * cluster on tmpfs for the run, test/support/etcd.ts; default SQLite in a temp dir).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type Docker from 'dockerode';
import { readConnectedLine } from '../src/agent/connect-timing.ts';
import { Semaphore } from '../src/agent/semaphore.ts';
import type { ContainerEngine } from '../src/docker/container-engine.ts';
import { DockerEngine } from '../src/docker/docker-engine.ts';
import type { EngineCall } from '../src/docker/engine-tracer.ts';
import { EngineTracer } from '../src/docker/engine-tracer.ts';
import { serviceSpecSchema } from '../src/model/service-spec.ts';
import { loadIdentity } from '../src/security/node-identity.ts';
import type { StoreLocation } from '../src/store/store-url.ts';
import { describeLocation, parseStoreUrl } from '../src/store/store-url.ts';
import { startEtcdCluster } from '../test/support/etcd.ts';
import {
  cleanupStep,
  forceRemoveAll,
  removeClusterNetworksUntilGone,
  serviceLabels,
  sweepClusters,
  waitGone,
} from './harness/cleanup.ts';
import { DeathWatch } from './harness/death-watch.ts';
import type { AgentSettings } from './harness/in-process-skiff.ts';
import { InProcessSkiff, localEngine } from './harness/in-process-skiff.ts';
import { positiveInt } from './harness/options.ts';
import { createRaw, ensureFloorNetwork, rawDefinition } from './harness/raw-floor.ts';
import { fmtMs as fmt, out, printAgentLog, runMain, table } from './harness/report.ts';
import type { SkiffApi } from './harness/skiff-api.ts';
import { coveredMs, mean, median } from './harness/stats.ts';
import { CuttableRelay, handshakeCosts } from './harness/tls-reconnect.ts';
import { abortOnSignals, sleep, waitUntil, withDeadline } from './harness/wait.ts';

const TARGET_RATIO = 1.3;
const POLL_MS = 10;
const RAW_TIMEOUT_MS = (n: number) => 30_000 + n * 2_000;
const SKIFF_TIMEOUT_MS = (n: number) => 30_000 + n * 2_000;
/** The spec defaults a removal waits out: update.drain_timeout and stop_grace_period. */
const DRAIN_MS = 2_000;
const GRACE_MS = 10_000;
const RM_SLACK_MS = 3_000;

interface Options {
  readonly concurrency: number;
  readonly trials: number;
  readonly sizes: readonly number[];
  readonly image: string;
  readonly warmup: number;
  readonly trace: boolean;
  readonly rmSizes: readonly number[];
  readonly rmImage: string;
  /** undefined: SQLite; 'etcd': a test cluster started for the run; else an etcd:// URL. */
  readonly store: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      concurrency: { type: 'string', default: '8' },
      trials: { type: 'string', default: '3' },
      replicas: { type: 'string', default: '10,30' },
      image: { type: 'string', default: 'skiff-demo:v1' },
      warmup: { type: 'string', default: '2' },
      trace: { type: 'boolean', default: false },
      'rm-replicas': { type: 'string', default: '10,100' },
      store: { type: 'string' },
      'rm-image': { type: 'string', default: 'skiff-demo:v1-noterm' },
    },
    strict: true,
  });
  const warmup = values.warmup === '0' ? 0 : positiveInt('warmup', values.warmup, 50);
  return {
    concurrency: positiveInt('concurrency', values.concurrency, 256),
    trials: positiveInt('trials', values.trials, 50),
    sizes: values.replicas.split(',').map((s) => positiveInt('replicas', s.trim(), 200)),
    image: values.image,
    warmup,
    trace: values.trace,
    rmSizes:
      values['rm-replicas'] === '0'
        ? []
        : values['rm-replicas'].split(',').map((s) => positiveInt('rm-replicas', s.trim(), 200)),
    rmImage: values['rm-image'],
    store: values.store,
  };
}

/** Where the bench's server keeps its state, and what to stop at the end. */
async function benchStore(
  given: string | undefined,
): Promise<{ location?: StoreLocation; stop: () => Promise<void> }> {
  if (given === undefined || given === 'sqlite') return { stop: async () => {} };
  if (given === 'etcd') {
    const cluster = await startEtcdCluster();
    const endpoints = cluster.endpoints.map((e) => e.replace(/^\w+:\/\//, ''));
    return {
      location: { kind: 'etcd', endpoints, prefix: '/skiff-bench', tls: {} },
      stop: () => cluster.stop(),
    };
  }
  return { location: parseStoreUrl(given), stop: async () => {} };
}

interface RawResult {
  readonly ms: number;
  readonly createMs: number[];
  readonly startMs: number[];
}

/** The floor: create + start N containers with Skiff's create body, at most `concurrency` at once. */
async function rawTrial(
  docker: Docker,
  options: Options,
  rawClusterId: string,
  name: string,
  n: number,
): Promise<RawResult> {
  const spec = serviceSpecSchema.parse({ name, image: options.image, replicas: n });
  const definitions = Array.from({ length: n }, (_, slot) => rawDefinition(name, slot, spec, rawClusterId));
  const semaphore = new Semaphore(options.concurrency);
  const createMs: number[] = [];
  const startMs: number[] = [];
  const t0 = performance.now();
  await withDeadline(
    `raw create+start of ${n} containers`,
    RAW_TIMEOUT_MS(n),
    Promise.all(
      definitions.map((definition) =>
        semaphore.run(async () => {
          const c0 = performance.now();
          const container = await createRaw(docker, definition);
          const c1 = performance.now();
          await container.start();
          createMs.push(c1 - c0);
          startMs.push(performance.now() - c1);
        }),
      ),
    ),
  );
  const ms = performance.now() - t0;
  const labels = serviceLabels(rawClusterId, name);
  await forceRemoveAll(docker, labels, options.concurrency);
  await waitGone(docker, labels, `raw containers of ${name} to be removed`);
  return { ms, createMs, startMs };
}

interface SkiffResult {
  readonly ms: number;
  readonly responseMs: number;
  readonly calls: EngineCall[];
  readonly t0: number;
  readonly tResponse: number;
  readonly tRunning: number;
}

/** Skiff: POST /api/deploy, then poll the service view until all N replicas are running. */
async function skiffTrial(
  api: SkiffApi,
  docker: Docker,
  clusterId: string,
  tracer: EngineTracer | undefined,
  options: Options,
  name: string,
  n: number,
): Promise<SkiffResult> {
  tracer?.take();
  const t0 = performance.now();
  await api.deploy({ name, image: options.image, replicas: n });
  const tResponse = performance.now();
  await waitUntil(`${n} replicas of ${name} to be running`, SKIFF_TIMEOUT_MS(n), POLL_MS, async () => {
    const view = await api.service(name);
    if (view.status === 'failed') throw new Error(`service ${name} failed: ${view.message ?? ''}`);
    return view.running === n ? true : undefined;
  });
  const tRunning = performance.now();
  const calls = tracer?.take() ?? [];
  await api.request('DELETE', `/api/services/${name}`);
  await waitGone(docker, serviceLabels(clusterId, name), `Skiff's containers of ${name} to be removed`);
  return { ms: tRunning - t0, responseMs: tResponse - t0, calls, t0, tResponse, tRunning };
}

interface RemoveResult {
  /** DELETE sent → the last of the service's containers gone from the engine. */
  readonly ms: number;
  /** DELETE sent → the last `die` (every process ended: stopped and out of service). */
  readonly stoppedMs: number;
  /** DELETE sent → the first container gone (the drain and grace run in parallel, so close to ms). */
  readonly firstGoneMs: number;
  /** With --trace: the agent's stop and remove calls after the DELETE. */
  readonly calls: EngineCall[];
  readonly t0: number;
}

/** `skiff rm` of N replicas: deploy, wait for all running, then DELETE → none left on the engine. */
async function removeTrial(
  api: SkiffApi,
  docker: Docker,
  clusterId: string,
  image: string,
  name: string,
  n: number,
  tracer: EngineTracer | undefined,
): Promise<RemoveResult> {
  await api.deploy({ name, image, replicas: n });
  await waitUntil(`${n} replicas of ${name} to be running`, SKIFF_TIMEOUT_MS(n), 100, async () => {
    const view = await api.service(name);
    if (view.status === 'failed') throw new Error(`service ${name} failed: ${view.message ?? ''}`);
    return view.running === n ? true : undefined;
  });
  const labels = serviceLabels(clusterId, name);
  const deaths = await DeathWatch.open(docker, labels);
  try {
    tracer?.take();
    const t0 = performance.now();
    await api.request('DELETE', `/api/services/${name}`);
    let firstGoneMs: number | undefined;
    await waitUntil(
      `${name}'s containers to be gone`,
      DRAIN_MS + GRACE_MS + 60_000,
      POLL_MS * 5,
      async () => {
        const left = (await docker.listContainers({ all: true, filters: { label: labels } })).length;
        if (left < n && firstGoneMs === undefined) firstGoneMs = performance.now() - t0;
        return left === 0 ? true : undefined;
      },
    );
    const ms = performance.now() - t0;
    // Each `die` came before its container's removal, so all N are in.
    const stoppedMs = deaths.countSince(t0) === n ? deaths.lastSince(t0) : Number.NaN;
    return { ms, stoppedMs, firstGoneMs: firstGoneMs ?? ms, calls: tracer?.take() ?? [], t0 };
  } finally {
    deaths.close();
  }
}

/**
 * The engine's own floor for the same removal: N such containers (Skiff's create body, the image's
 * ports published as Skiff publishes them) stopped all at once straight through the Engine API, each removed as soon as its stop returns. No drain.
 */
async function rawRemoveTrial(
  docker: Docker,
  options: Options,
  rawClusterId: string,
  name: string,
  n: number,
): Promise<{ ms: number; stoppedMs: number }> {
  const spec = serviceSpecSchema.parse({ name, image: options.rmImage, replicas: n });
  // Skiff publishes what the image declares (for other nodes' VIP rules), and tearing a published
  // port down costs the engine too: the floor does the same.
  const inspected = (await docker.getImage(options.rmImage).inspect()) as {
    Config?: { ExposedPorts?: object };
  };
  const imagePorts = Object.keys(inspected.Config?.ExposedPorts ?? {});
  const semaphore = new Semaphore(options.concurrency);
  const containers = await Promise.all(
    Array.from({ length: n }, (_, slot) =>
      semaphore.run(async () => {
        const container = await createRaw(docker, rawDefinition(name, slot, spec, rawClusterId, imagePorts));
        await container.start();
        return container;
      }),
    ),
  );
  const deaths = await DeathWatch.open(docker, serviceLabels(rawClusterId, name));
  try {
    const t0 = performance.now();
    await withDeadline(
      `raw stop+remove of ${n} containers`,
      GRACE_MS + 60_000,
      Promise.all(
        containers.map(async (container) => {
          await container.stop();
          await container.remove({ force: true });
        }),
      ),
    );
    const ms = performance.now() - t0;
    return { ms, stoppedMs: deaths.countSince(t0) === n ? deaths.lastSince(t0) : Number.NaN };
  } finally {
    deaths.close();
  }
}
/** Where a removal's time went: when the agent asked for each stop and removal, and how long they took. */
function removeTraceLine(result: RemoveResult): string {
  const span = (op: string) => {
    const calls = result.calls.filter((c) => c.op === op);
    if (calls.length === 0) return `${op}: none`;
    const starts = calls.map((c) => c.start - result.t0);
    const ends = calls.map((c) => c.end - result.t0);
    const took = calls.map((c) => c.end - c.start);
    return `${calls.length} ${op}s issued ${fmt(Math.min(...starts))}–${fmt(Math.max(...starts))} ms, returned ${fmt(Math.min(...ends))}–${fmt(Math.max(...ends))} ms, each ${fmt(median(took))} ms median (max ${fmt(Math.max(...took))})`;
  };
  return `    agent after DELETE: ${span('stop')}; ${span('remove')}`;
}

/** bench:deploy before the agent link was TLS (README "Measured", notes): ratio to the raw floor. */
const PLAIN_RATIOS: Record<number, string> = { 10: '1.09×', 30: '1.08×' };
/**
 * Agent start → node ready before TLS: the same method (5 ms polling of /api/nodes) on the
 * plain-WebSocket build (main at e801347), 2026-12-01: first connect 76 ms, reconnects 21/27/31 ms.
 */
const PLAIN_FIRST_CONNECT_MS = 76;
const PLAIN_RECONNECT_MS = 27;

const ratioText = (skiff: number, raw: number) => `${(skiff / raw).toFixed(2)}×`;

/** Where one Skiff deploy's time went, from the engine calls the agent made (all ms after POST). */
function traceLines(n: number, result: SkiffResult, raw: RawResult | undefined): string[] {
  const at = (t: number) => `${(t - result.t0).toFixed(0)}`;
  const calls = result.calls.filter((c) => c.start >= result.t0);
  const of = (op: string) => calls.filter((c) => c.op === op);
  const creates = of('create');
  const starts = of('start');
  const lists = of('list');
  const images = of('hasImage');
  const firstCall = calls.reduce<EngineCall | undefined>(
    (a, c) => (a && a.start <= c.start ? a : c),
    undefined,
  );
  const lastStartEnd = Math.max(...starts.map((c) => c.end));
  const firstCreate = Math.min(...creates.map((c) => c.start));
  const fullList = lists.find((c) => c.end >= lastStartEnd && c.detail?.endsWith(` ${n} running`) === true);
  const durations = (list: readonly EngineCall[]) => list.map((c) => c.end - c.start);
  const lines = [
    `    POST response ${at(result.tResponse)} | first engine call (${firstCall?.op ?? '-'}) ${firstCall ? at(firstCall.start) : '-'}` +
      ` | first create ${at(firstCreate)} | last start done ${at(lastStartEnd)}` +
      ` | list seeing ${n} running done ${fullList ? at(fullList.end) : '-'} | seen running by poll ${at(result.tRunning)}`,
    `    calls: ${creates.length} create (mean ${fmt(mean(durations(creates)))} ms), ${starts.length} start (mean ${fmt(mean(durations(starts)))} ms),` +
      ` ${images.length} hasImage (mean ${fmt(mean(durations(images)))} ms), ${lists.length} list (mean ${fmt(mean(durations(lists)))} ms,` +
      ` max ${fmt(Math.max(0, ...durations(lists)))} ms, a list in flight for ${fmt(coveredMs(lists))} ms of the ${fmt(result.ms)} ms)`,
  ];
  if (raw) {
    lines.push(
      `    raw floor of the same trial: create mean ${fmt(mean(raw.createMs))} ms, start mean ${fmt(mean(raw.startMs))} ms`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  abortOnSignals();
  const docker = await localEngine(
    options.rmSizes.length > 0 ? [options.image, options.rmImage] : [options.image],
  );

  const runId = randomUUID().slice(0, 8);
  const rawClusterId = `skiff-bench-raw-${runId}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-'));
  const skiff = new InProcessSkiff();
  const store = await benchStore(options.store);
  try {
    await ensureFloorNetwork(docker, rawClusterId);
    const tracer = options.trace ? new EngineTracer(new DockerEngine()) : undefined;
    const engine: ContainerEngine = tracer?.engine ?? new DockerEngine();
    const agentSettings = {
      engine,
      name: `bench-${runId}`,
      dataDir: join(dataDir, 'agent'),
      concurrency: options.concurrency,
    };
    const { api, server } = await skiff.startServer(dataDir, () => {}, store.location);
    out(`Store: ${store.location ? describeLocation(store.location) : 'SQLite in a temp dir'}`);
    const firstJoinMs = await skiff.timeAgentToReady(agentSettings);

    out(
      `Skiff deploy benchmark: image ${options.image}, engine concurrency ${options.concurrency} (agent and raw floor),`,
    );
    out(
      `  ${options.trials} trial(s) per size, raw/Skiff order alternating by trial; target Skiff ≤ ${TARGET_RATIO}× raw floor.`,
    );
    out(
      '  raw floor: dockerode create+start of N containers (containerDefinition body), timed first call → last start.',
    );
    out(
      `  Skiff: POST /api/deploy → all N running, detected by polling GET /api/services/{name} every ${POLL_MS} ms.`,
    );
    if (options.warmup > 0) out(`  warm-up (not counted): ${options.warmup} container(s) raw and via Skiff.`);
    out('');

    if (options.warmup > 0) {
      await rawTrial(docker, options, rawClusterId, `bench-raw-warmup-${runId}`, options.warmup);
      await skiffTrial(
        api,
        docker,
        server.clusterId,
        tracer,
        options,
        `bench-warmup-${runId}`,
        options.warmup,
      );
    }

    const rows: string[][] = [];
    const summary: string[][] = [];
    for (const n of options.sizes) {
      const raws: number[] = [];
      const skiffs: number[] = [];
      for (let trial = 1; trial <= options.trials; trial++) {
        const rawFirst = trial % 2 === 1;
        const rawName = `bench-raw-${n}-${trial}`;
        const skiffName = `bench-${n}-${trial}`;
        let raw: RawResult | undefined;
        let skiff: SkiffResult | undefined;
        if (rawFirst) raw = await rawTrial(docker, options, rawClusterId, rawName, n);
        skiff = await skiffTrial(api, docker, server.clusterId, tracer, options, skiffName, n);
        if (!rawFirst) raw = await rawTrial(docker, options, rawClusterId, rawName, n);
        if (!raw || !skiff) throw new Error('a trial produced no result');
        raws.push(raw.ms);
        skiffs.push(skiff.ms);
        const row = [
          String(n),
          String(trial),
          rawFirst ? 'raw, skiff' : 'skiff, raw',
          fmt(raw.ms),
          fmt(skiff.ms),
          fmt(skiff.responseMs),
          ratioText(skiff.ms, raw.ms),
        ];
        rows.push(row);
        out(
          `  N=${n} trial ${trial}: raw floor ${fmt(raw.ms)} ms, Skiff ${fmt(skiff.ms)} ms (deploy response ${fmt(skiff.responseMs)} ms), ratio ${ratioText(skiff.ms, raw.ms)}`,
        );
        if (tracer) for (const line of traceLines(n, skiff, raw)) out(line);
      }
      const rawMedian = median(raws);
      const skiffMedian = median(skiffs);
      const ratio = skiffMedian / rawMedian;
      summary.push([
        String(n),
        fmt(rawMedian),
        fmt(skiffMedian),
        ratioText(skiffMedian, rawMedian),
        ratio <= TARGET_RATIO ? 'within target' : 'OVER target',
      ]);
    }

    out('');
    out('Per trial:');
    out(table(['N', 'trial', 'order', 'raw floor ms', 'Skiff ms', 'deploy response ms', 'ratio'], rows));
    out('');
    out(`Medians (target: Skiff ≤ ${TARGET_RATIO}× raw floor):`);
    out(table(['N', 'raw floor ms', 'Skiff ms', 'ratio', 'verdict'], summary));

    if (options.rmSizes.length > 0) {
      const goalMs = DRAIN_MS + GRACE_MS + RM_SLACK_MS;
      out('');
      out(
        `skiff rm of N replicas of ${options.rmImage} (PID 1 ignores SIGTERM: each stop ends in SIGKILL after the grace period);`,
      );
      out(
        `  DELETE /api/services/{name} → no container left on the engine. Floor: drain ${DRAIN_MS} + grace ${GRACE_MS} ms; goal ≤ ${goalMs} ms whatever N.`,
      );
      const removals: string[][] = [];
      for (const n of options.rmSizes) {
        const raw = await rawRemoveTrial(docker, options, rawClusterId, `bench-raw-rm-${n}`, n);
        const result = await removeTrial(
          api,
          docker,
          server.clusterId,
          options.rmImage,
          `bench-rm-${n}-${runId}`,
          n,
          tracer,
        );
        out(
          `  N=${n}: all stopped (last \`die\`) after ${fmt(result.stoppedMs)} ms, all removed after ${fmt(result.ms)} ms (first removed after ${fmt(result.firstGoneMs)} ms); engine floor (no drain): stopped ${fmt(raw.stoppedMs)} ms, removed ${fmt(raw.ms)} ms`,
        );
        if (tracer) out(removeTraceLine(result));
        removals.push([
          String(n),
          fmt(raw.stoppedMs),
          fmt(raw.ms),
          fmt(result.stoppedMs),
          result.stoppedMs <= goalMs ? 'within goal' : 'OVER goal',
          fmt(result.ms),
          fmt(result.ms - DRAIN_MS - raw.ms),
          result.ms <= goalMs ? 'within goal' : 'OVER goal',
        ]);
      }
      out('');
      out(
        '  "stopped": every process ended (the engine\'s `die` events): out of service, CPU and memory free.',
      );
      out(
        '  "removed": no container record left (the engine tears down each network endpoint and mount first).',
      );
      out(
        table(
          [
            'N',
            'floor: stopped ms',
            'floor: removed ms',
            'Skiff: stopped ms',
            'verdict',
            'Skiff: removed ms',
            'beyond drain + floor ms',
            'verdict',
          ],
          removals,
        ),
      );
    }
    // The agent link is mutual TLS now; the previous figures (plain WebSocket) are the README's.
    const reconnects: number[] = [];
    /** The TLS handshake inside each (the agent's own connect line): its share of the start. */
    const handshakesMs: number[] = [];
    for (let i = 0; i < options.trials; i++) {
      await skiff.stopAgent();
      const logged = skiff.agentLog.length;
      reconnects.push(await skiff.timeAgentToReady(agentSettings));
      const connect = skiff.agentLog
        .slice(logged)
        .map(readConnectedLine)
        .find((c) => c !== undefined);
      if (connect) handshakesMs.push(connect.tlsMs);
    }
    out('');
    out('With TLS on (agent over mutual TLS) vs before (plain WebSocket, README figures of the same bench):');
    out(
      table(
        ['N', 'ratio now', 'ratio before'],
        summary.map(([n, , , ratio]) => [n ?? '', ratio ?? '', PLAIN_RATIOS[Number(n)] ?? '-']),
      ),
    );
    out(
      `Agent start → node ready: first join ${fmt(firstJoinMs)} ms (CA fetch + certificate issue + mTLS dial;` +
        ` before: ${PLAIN_FIRST_CONNECT_MS} ms); reconnect on the saved certificate, median of ${reconnects.length}:` +
        ` ${fmt(median(reconnects))} ms (before, plain WebSocket with the join token: ${PLAIN_RECONNECT_MS} ms),` +
        ` of which the TLS handshake ${handshakesMs.length > 0 ? fmt(median(handshakesMs)) : '-'} ms (a new agent: full).`,
    );
    await reportTlsReconnect(skiff, agentSettings, options.trials);
  } finally {
    await skiff.stop();
    const clusterIds = [rawClusterId, ...(skiff.clusterId ? [skiff.clusterId] : [])];
    await cleanupStep(() => sweepClusters(docker, clusterIds, options.concurrency));
    for (const clusterId of clusterIds)
      await cleanupStep(() => removeClusterNetworksUntilGone(docker, clusterId));
    await rm(dataDir, { recursive: true, force: true });
    await store.stop();
    printAgentLog(skiff.notableAgentLog());
  }
}

/** Connection cuts measured, and handshakes of each kind. */
const RECONNECT_TRIALS_PER_TRIAL = 5;

/**
 * The cost of a TLS agent reconnect (bench/harness/tls-reconnect.ts): a running agent's
 * connection cut → its node ready again, and the mutual-TLS handshake alone, full and resumed.
 */
async function reportTlsReconnect(
  skiff: InProcessSkiff,
  settings: AgentSettings,
  trials: number,
): Promise<void> {
  const server = skiff.server;
  if (!server) return;
  const serverAddress = new URL(server.url);
  const relay = await CuttableRelay.start({ host: serverAddress.hostname, port: Number(serverAddress.port) });
  try {
    await skiff.stopAgent();
    await skiff.startAgent({ ...settings, serverUrls: [relay.url] });
    await skiff.waitNodeReady();
    const cuts: number[] = [];
    for (let i = 0; i < trials * RECONNECT_TRIALS_PER_TRIAL; i++) {
      // Settled first: the session ticket of the last handshake is in, heartbeats flow.
      await sleep(300);
      const before = relay.accepted;
      const cutAt = performance.now();
      relay.cut();
      await waitUntil('the agent to dial again', 10_000, 1, async () =>
        relay.accepted > before ? true : undefined,
      );
      await skiff.api.waitReadyNodes('the node ready again', 10_000, 1, (n) => n > 0);
      cuts.push(performance.now() - cutAt);
    }
    const identity = loadIdentity(settings.dataDir);
    if (!identity) throw new Error(`no node identity in ${settings.dataDir}`);
    const handshakes = await handshakeCosts(relay.url, identity, trials * RECONNECT_TRIALS_PER_TRIAL);
    out(
      `TLS agent reconnect: connection cut → node ready again ${fmt(median(cuts))} ms median of ${cuts.length}` +
        ` (${fmt(Math.min(...cuts))}–${fmt(Math.max(...cuts))}; redial at once on a resumed TLS session, hello, welcome);` +
        ` the mutual-TLS handshake alone: full ${fmt(median(handshakes.fullMs))} ms, resumed ${fmt(median(handshakes.resumedMs))} ms` +
        ` (${handshakes.resumed}/${handshakes.resumedMs.length} resumed).`,
    );
  } finally {
    await relay.stop();
  }
}

runMain('bench:deploy', main);
