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
 * Options: --concurrency N (8), --trials N (3), --replicas 10,30, --image REF (skiff-demo:v1),
 * --warmup N (2 containers each way before measuring; 0 for none), --trace (where Skiff's time goes).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { z } from 'zod';
import { Agent } from '../src/agent/agent.ts';
import { Semaphore } from '../src/agent/semaphore.ts';
import type { ContainerEngine } from '../src/docker/container-engine.ts';
import { LABELS } from '../src/docker/container-engine.ts';
import { DockerEngine } from '../src/docker/docker-engine.ts';
import { serviceSpecSchema } from '../src/model/service-spec.ts';
import { nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import type { RunningServer } from '../src/server/skiff-server.ts';
import { startServer } from '../src/server/skiff-server.ts';
import type { EngineCall } from './bench-support.ts';
import {
  coveredMs,
  EngineTracer,
  ensureFloorNetwork,
  median,
  positiveInt,
  rawDefinition,
  removeClusterNetworks,
  table,
  waitFor,
  withDeadline,
} from './bench-support.ts';

const TARGET_RATIO = 1.3;
const POLL_MS = 10;
const NODE_READY_TIMEOUT_MS = 20_000;
const REMOVAL_TIMEOUT_MS = 60_000;
const RAW_TIMEOUT_MS = (n: number) => 30_000 + n * 2_000;
const SKIFF_TIMEOUT_MS = (n: number) => 30_000 + n * 2_000;

interface Options {
  readonly concurrency: number;
  readonly trials: number;
  readonly sizes: readonly number[];
  readonly image: string;
  readonly warmup: number;
  readonly trace: boolean;
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
  };
}

/** Aborted on Ctrl-C, so every wait stops and the cleanup runs. */
const interrupted = new AbortController();

function checkInterrupted(): void {
  if (interrupted.signal.aborted) throw new Error('interrupted');
}

/** The containers carrying all of `labels` (k=v), in any state. */
async function listLabelled(docker: Docker, labels: readonly string[]): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [...labels] } });
}

async function forceRemoveAll(
  docker: Docker,
  labels: readonly string[],
  semaphore: Semaphore,
): Promise<void> {
  const containers = await listLabelled(docker, labels);
  await Promise.all(
    containers.map((c) =>
      semaphore.run(async () => {
        try {
          await docker.getContainer(c.Id).remove({ force: true });
        } catch (error) {
          const status = (error as { statusCode?: unknown }).statusCode;
          // Gone already, or being removed: both are what we want.
          if (status !== 404 && status !== 409) throw error;
        }
      }),
    ),
  );
}

async function waitGone(docker: Docker, labels: readonly string[], what: string): Promise<void> {
  await waitFor(what, REMOVAL_TIMEOUT_MS, 50, async () => {
    checkInterrupted();
    return (await listLabelled(docker, labels)).length === 0 ? true : undefined;
  });
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
          const container = await docker.createContainer({
            ...definition.body,
            name: definition.name,
          } as Docker.ContainerCreateOptions);
          const c1 = performance.now();
          await container.start();
          createMs.push(c1 - c0);
          startMs.push(performance.now() - c1);
        }),
      ),
    ),
  );
  const ms = performance.now() - t0;
  const labels = [`${LABELS.cluster}=${rawClusterId}`, `${LABELS.service}=${name}`];
  await forceRemoveAll(docker, labels, semaphore);
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

class Api {
  readonly #server: RunningServer;

  constructor(server: RunningServer) {
    this.#server = server;
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.#server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#server.tokens.admin}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }
}

/** Skiff: POST /api/deploy, then poll the service view until all N replicas are running. */
async function skiffTrial(
  api: Api,
  docker: Docker,
  server: RunningServer,
  tracer: EngineTracer | undefined,
  options: Options,
  name: string,
  n: number,
): Promise<SkiffResult> {
  tracer?.take();
  const t0 = performance.now();
  await api.request('POST', '/api/deploy', { name, image: options.image, replicas: n });
  const tResponse = performance.now();
  await waitFor(`${n} replicas of ${name} to be running`, SKIFF_TIMEOUT_MS(n), POLL_MS, async () => {
    checkInterrupted();
    const view = serviceViewSchema.parse(await api.request('GET', `/api/services/${name}`));
    if (view.status === 'failed') throw new Error(`service ${name} failed: ${view.message ?? ''}`);
    return view.running === n ? true : undefined;
  });
  const tRunning = performance.now();
  const calls = tracer?.take() ?? [];
  await api.request('DELETE', `/api/services/${name}`);
  await waitGone(
    docker,
    [`${LABELS.cluster}=${server.clusterId}`, `${LABELS.service}=${name}`],
    `Skiff's containers of ${name} to be removed`,
  );
  return { ms: tRunning - t0, responseMs: tResponse - t0, calls, t0, tResponse, tRunning };
}

const fmt = (ms: number) => ms.toFixed(0);
const ratioText = (skiff: number, raw: number) => `${(skiff / raw).toFixed(2)}×`;
const mean = (values: readonly number[]) =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;

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

/**
 * Closes the server once it has seen the (stopped) agent go: the gateway records the disconnect
 * in the store, and a disconnect arriving after `close()` would write to a closed database.
 */
async function closeServer(server: RunningServer): Promise<void> {
  const api = new Api(server);
  try {
    await waitFor('the server to see the agent disconnect', 5_000, 20, async () => {
      const nodes = z.array(nodeViewSchema).parse(await api.request('GET', '/api/nodes'));
      return nodes.every((node) => node.status !== 'ready') ? true : undefined;
    });
  } catch (error) {
    process.stderr.write(`closing the server: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  await server.close();
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  process.once('SIGINT', () => interrupted.abort());
  process.once('SIGTERM', () => interrupted.abort());

  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  try {
    await docker.getImage(options.image).inspect();
  } catch {
    throw new Error(
      `image ${options.image} is not present locally (build it with \`npm run images\`); this bench never pulls`,
    );
  }

  const runId = randomUUID().slice(0, 8);
  const rawClusterId = `skiff-bench-raw-${runId}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-'));
  const agentLog: string[] = [];
  const cleanupSemaphore = new Semaphore(options.concurrency);
  let server: RunningServer | undefined;
  let agent: Agent | undefined;
  try {
    await ensureFloorNetwork(docker, rawClusterId);
    server = await startServer({ dataDir, port: 0, listen: '127.0.0.1', log: () => {} });
    const tracer = options.trace ? new EngineTracer(new DockerEngine()) : undefined;
    const engine: ContainerEngine = tracer?.engine ?? new DockerEngine();
    agent = new Agent({
      serverUrl: server.url,
      joinToken: server.tokens.join,
      engine,
      name: `bench-${runId}`,
      dataDir: join(dataDir, 'agent'),
      concurrency: options.concurrency,
      log: (message) => agentLog.push(message),
    });
    await agent.start();
    const api = new Api(server);
    await waitFor('the agent node to be ready', NODE_READY_TIMEOUT_MS, 50, async () => {
      checkInterrupted();
      const nodes = z.array(nodeViewSchema).parse(await api.request('GET', '/api/nodes'));
      return nodes.some((node) => node.status === 'ready') ? true : undefined;
    });

    const out = (line: string) => process.stdout.write(`${line}\n`);
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
      await skiffTrial(api, docker, server, tracer, options, `bench-warmup-${runId}`, options.warmup);
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
        skiff = await skiffTrial(api, docker, server, tracer, options, skiffName, n);
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
  } finally {
    agent?.stop();
    if (server) await closeServer(server);
    // Operations the agent had already queued may still create containers after it stopped:
    // sweep until nothing of this run has been left for a full second.
    const sweeps = [
      [`${LABELS.cluster}=${rawClusterId}`],
      ...(server ? [[`${LABELS.cluster}=${server.clusterId}`]] : []),
    ];
    try {
      let emptySince: number | undefined;
      await waitFor('the benchmark containers to be cleaned up', REMOVAL_TIMEOUT_MS, 200, async () => {
        let found = 0;
        for (const labels of sweeps) {
          found += (await listLabelled(docker, labels)).length;
          await forceRemoveAll(docker, labels, cleanupSemaphore);
        }
        if (found > 0) emptySince = undefined;
        else emptySince ??= performance.now();
        return emptySince !== undefined && performance.now() - emptySince >= 1000 ? true : undefined;
      });
    } catch (error) {
      process.stderr.write(`cleanup: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
    for (const clusterId of [rawClusterId, server?.clusterId]) {
      if (clusterId) await removeClusterNetworks(docker, clusterId);
    }
    await rm(dataDir, { recursive: true, force: true });
    // Registration is routine; anything else the agent said (converge errors...) is worth seeing.
    const notable = agentLog.filter((line) => !line.startsWith('registered as '));
    if (notable.length > 0) {
      process.stderr.write(`agent log (${notable.length} line(s), last 20):\n`);
      for (const line of notable.slice(-20)) process.stderr.write(`  ${line}\n`);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench:deploy failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
