/**
 * `npm run bench:heal`: how fast Skiff heals, in three measures.
 *
 * 1. Container killed → replacement running. A 1-replica service (restart delay and max_delay
 *    0s, so every kill is restarted at once as a first crash is: kills 0.3–5 s apart each count as
 *    another failure, and a 1 ms backoff cost a timer and a second pass) has its container SIGKILLed;
 *    the replacement counts as running when the engine's event stream delivers its `start`, and
 *    also when `GET /api/services/{name}` first shows it running. Beside it, interleaved, the raw
 *    floor: dockerode create+start of one container with the same create body
 *    (`containerDefinition`). Target: median within 300 ms of the floor's median.
 * 2. HTTP check starts failing → marked unhealthy. A replica with an http check (interval 1s,
 *    retries 3, restart never) is made sick through its published port; detection is the first
 *    API poll showing it unhealthy. Bound interval × retries = 3000 ms; target ≤ bound + 1 interval.
 * 3. Agent CPU with N probed containers (http check every 1s). The agent runs as its own process
 *    (`skiff agent`) so its CPU can be read from /proc/<pid>/stat; the server (this process) is
 *    read with process.cpuUsage(). Target: agent under 5% of one core.
 *
 * Measures 1 and 2 run Skiff in this process as `skiff up` composes it (server + agent over a real
 * WebSocket), with the agent's engine calls timestamped to show where a restart's time goes.
 * Everything created (containers by label, temporary directories, the agent process) is removed
 * at the end, also on failure or Ctrl-C. Exits 0 whatever the verdict: it is a measurement.
 *
 * Options: --trials N (20), --containers N (100), --cpu-window DURATION (30s),
 * --image REF (skiff-demo:v1), --only kill,health,cpu (all), --trace (each trial's engine calls),
 * --poll-ms N (10: how often the API is polled once the engine has started the replacement),
 * --data-plane on|off (on; off: the agent without VIPs, DNS and rules, to see what they cost).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type Docker from 'dockerode';
import { z } from 'zod';
import { DockerEngine } from '../src/docker/docker-engine.ts';
import type { EngineCall } from '../src/docker/engine-tracer.ts';
import { EngineTracer } from '../src/docker/engine-tracer.ts';
import { parseDurationMs } from '../src/model/duration.ts';
import { serviceSpecSchema } from '../src/model/service-spec.ts';
import type { RunningServer } from '../src/server/skiff-server.ts';
import {
  cleanupStep,
  clusterLabel,
  forceRemoveAll,
  listLabelled,
  removeClusterNetworks,
  serviceLabels,
  sweepClusters,
  waitGone,
} from './harness/cleanup.ts';
import { InProcessSkiff, localEngine } from './harness/in-process-skiff.ts';
import { positiveInt } from './harness/options.ts';
import { CLOCK_TICKS_PER_S, cpuTicks } from './harness/proc.ts';
import { createRaw, ensureFloorNetwork, rawDefinition } from './harness/raw-floor.ts';
import { errorText, fmtMs as fmt, out, printAgentLog, runMain, table } from './harness/report.ts';
import type { SkiffApi } from './harness/skiff-api.ts';
import { median, percentile } from './harness/stats.ts';
import {
  abortOnSignals,
  checkInterrupted,
  interrupted,
  sleep,
  waitUntil,
  withDeadline,
} from './harness/wait.ts';

const REPO_ROOT = dirname(import.meta.dirname);
const KILL_TARGET_OVER_FLOOR_MS = 300;
/** The absolute goal of issue 8 for kill → replacement running. */
const KILL_GOAL_MS = 400;
const CHECK_INTERVAL = '1s';
const CHECK_INTERVAL_MS = 1000;
const CHECK_RETRIES = 3;
const UNHEALTHY_BOUND_MS = CHECK_INTERVAL_MS * CHECK_RETRIES;
const UNHEALTHY_TARGET_MS = UNHEALTHY_BOUND_MS + CHECK_INTERVAL_MS;
const CPU_TARGET_PERCENT = 5;
/** Health trials run this many services at once, each measured on its own. */
const HEALTH_LANES = 5;
/** The CPU measure deploys its containers as services of at most this many replicas. */
const CPU_SERVICE_SIZE = 25;
const RESTART_TIMEOUT_MS = 20_000;
const HEALTHY_TIMEOUT_MS = 30_000;
const UNHEALTHY_TIMEOUT_MS = 15_000;
const ENGINE_CALL_TIMEOUT_MS = 30_000;
/** Pause after a replacement is reported running, so the agent is idle when the next kill comes. */
const SETTLE_MS = 300;
/**
 * Each kill comes after a random pause of up to this long, so kills land at random moments with
 * respect to the agent's periodic work (its resync runs every 5 s) instead of in step with it.
 */
const KILL_JITTER_MS = 5000;

const PHASES = ['kill', 'health', 'cpu'] as const;
type Phase = (typeof PHASES)[number];

interface Options {
  readonly trials: number;
  readonly containers: number;
  readonly cpuWindowMs: number;
  readonly image: string;
  readonly phases: ReadonlySet<Phase>;
  readonly trace: boolean;
  /** How often the API is polled while a replacement is awaited (its CPU competes with the engine's). */
  readonly pollMs: number;
  /** False: the agent runs without its data plane (diagnostic: what the rule updates cost a restart). */
  readonly dataPlane: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      trials: { type: 'string', default: '20' },
      containers: { type: 'string', default: '100' },
      'cpu-window': { type: 'string', default: '30s' },
      image: { type: 'string', default: 'skiff-demo:v1' },
      only: { type: 'string', default: PHASES.join(',') },
      trace: { type: 'boolean', default: false },
      'poll-ms': { type: 'string', default: '10' },
      'data-plane': { type: 'string', default: 'on' },
    },
    strict: true,
  });
  const cpuWindowMs = parseDurationMs(values['cpu-window']);
  if (cpuWindowMs === undefined || cpuWindowMs < 2000 || cpuWindowMs > 600_000)
    throw new Error(`--cpu-window: a duration from 2s to 10m, got ${values['cpu-window']}`);
  const phases = new Set<Phase>();
  for (const word of values.only.split(',').map((w) => w.trim())) {
    const phase = PHASES.find((p) => p === word);
    if (!phase) throw new Error(`--only: expected some of ${PHASES.join(',')}, got ${word}`);
    phases.add(phase);
  }
  return {
    trials: positiveInt('trials', values.trials, 200),
    containers: positiveInt('containers', values.containers, 500),
    cpuWindowMs,
    image: values.image,
    phases,
    trace: values.trace,
    pollMs: positiveInt('poll-ms', values['poll-ms'], 1000),
    dataPlane: dataPlaneOption(values['data-plane']),
  };
}

function dataPlaneOption(value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new Error(`--data-plane: on or off, got ${value}`);
  return value === 'on';
}

const pct = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}%` : '-');

/** One engine event, with when it was stamped by the engine and when it reached this process. */
interface EngineEventRecord {
  readonly action: string;
  readonly id: string;
  /** performance.now() when the line was read here. */
  readonly receivedAt: number;
  /** The engine's timeNano, on the performance.now() timeline. */
  readonly engineAt: number;
}

const engineEventSchema = z.object({
  Action: z.string(),
  Actor: z.object({ ID: z.string() }),
  timeNano: z.number(),
});

/** The engine's container events for some labels, kept in order and waitable. */
class EngineEventWatch {
  readonly records: EngineEventRecord[] = [];
  readonly #stream: NodeJS.ReadableStream & { destroy?: () => void };
  readonly #waiters = new Set<() => void>();

  private constructor(stream: NodeJS.ReadableStream) {
    this.#stream = stream;
    void this.#read();
  }

  static async open(docker: Docker, labels: readonly string[]): Promise<EngineEventWatch> {
    const stream = await withDeadline(
      'open the engine event stream',
      ENGINE_CALL_TIMEOUT_MS,
      docker.getEvents({ filters: { type: ['container'], label: [...labels] } }),
    );
    return new EngineEventWatch(stream);
  }

  async #read(): Promise<void> {
    try {
      for await (const line of createInterface({
        input: this.#stream,
        crlfDelay: Number.POSITIVE_INFINITY,
      })) {
        const receivedAt = performance.now();
        if (line.trim() === '') continue;
        const parsed = engineEventSchema.safeParse(JSON.parse(line));
        if (!parsed.success) continue;
        this.records.push({
          action: parsed.data.Action,
          id: parsed.data.Actor.ID,
          receivedAt,
          engineAt: parsed.data.timeNano / 1e6 - performance.timeOrigin,
        });
        for (const wake of this.#waiters) wake();
      }
    } catch {
      // Destroyed on close; a broken stream shows up as a timed-out wait.
    }
  }

  find(predicate: (record: EngineEventRecord) => boolean): EngineEventRecord | undefined {
    return this.records.find(predicate);
  }

  /** The first event (already seen or still to come) matching `predicate`. */
  async next(
    what: string,
    timeoutMs: number,
    predicate: (record: EngineEventRecord) => boolean,
  ): Promise<EngineEventRecord> {
    const seen = this.find(predicate);
    if (seen) return seen;
    let wake: (() => void) | undefined;
    const found = new Promise<EngineEventRecord>((resolve, reject) => {
      wake = () => {
        if (interrupted.signal.aborted) reject(new Error('interrupted'));
        const record = this.find(predicate);
        if (record) resolve(record);
      };
      this.#waiters.add(wake);
    });
    const onAbort = () => wake?.();
    interrupted.signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await withDeadline(`engine event: ${what}`, timeoutMs, found);
    } finally {
      interrupted.signal.removeEventListener('abort', onAbort);
      if (wake) this.#waiters.delete(wake);
    }
  }

  close(): void {
    this.#stream.destroy?.();
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Container killed → replacement running

interface KillResult {
  /** When SIGKILL was issued (performance.now()); the other figures are ms after it. */
  readonly t0: number;
  /** kill issued → the replacement's `start` event received from the engine. */
  readonly engineMs: number;
  /** kill issued → first API poll showing the replacement running. */
  readonly apiMs: number;
  /** kill issued → the kill call returned. */
  readonly killCallMs: number;
  /** kill issued → events of the old container dying, the old one removed, the new created. */
  readonly dieMs: number;
  readonly destroyMs: number;
  readonly createMs: number;
  /** Engine stamp of the replacement's start, relative to the kill (clock cross-check). */
  readonly engineStampMs: number;
  /** The agent's engine calls between the kill and the start event. */
  readonly calls: EngineCall[];
  /** The engine events of the trial, ms after the kill. */
  readonly events: string[];
}

interface KillContext {
  readonly docker: Docker;
  readonly api: SkiffApi;
  readonly tracer: EngineTracer;
  readonly clusterId: string;
  readonly service: string;
  readonly watch: EngineEventWatch;
  readonly pollMs: number;
}

async function runningContainerOf(ctx: KillContext): Promise<Docker.ContainerInfo> {
  return waitUntil(`exactly one running container of ${ctx.service}`, RESTART_TIMEOUT_MS, 20, async () => {
    const list = await listLabelled(ctx.docker, serviceLabels(ctx.clusterId, ctx.service));
    const [only] = list;
    return list.length === 1 && only?.State === 'running' ? only : undefined;
  });
}

async function killTrial(ctx: KillContext): Promise<KillResult> {
  await sleep(Math.random() * KILL_JITTER_MS);
  checkInterrupted();
  const old = await runningContainerOf(ctx);
  const oldShort = old.Id.slice(0, 12);
  ctx.tracer.take();
  const t0 = performance.now();
  const killed = withDeadline(
    'kill the container',
    ENGINE_CALL_TIMEOUT_MS,
    ctx.docker.getContainer(old.Id).kill({ signal: 'SIGKILL' }),
  ).then(() => performance.now());
  const started = ctx.watch.next('the replacement started', RESTART_TIMEOUT_MS, (r) => {
    return r.action === 'start' && r.id !== old.Id && r.receivedAt >= t0;
  });
  // The API cannot show the replacement running before the engine has started it, so it is
  // polled from the engine's `start` on: a poll loop during the restart would take CPU from the
  // engine's own start on a small host (10 ms polling cost the start about 100 ms on 2 cores).
  const apiRunning = started.then(() =>
    waitUntil(
      `the API to show a replacement of ${ctx.service} running`,
      RESTART_TIMEOUT_MS,
      ctx.pollMs,
      async () => {
        const replica = (await ctx.api.service(ctx.service)).containers[0];
        const replaced = replica?.id !== null && replica?.id !== undefined && replica.id !== oldShort;
        return replaced && replica?.status === 'running'
          ? { at: performance.now(), id: replica.id }
          : undefined;
      },
    ),
  );
  const [tKilled, start, api] = await Promise.all([killed, started, apiRunning]);
  const calls = ctx.tracer.take().filter((c) => c.start >= t0 && c.start <= start.receivedAt);
  if (api.id === null || !start.id.startsWith(api.id))
    throw new Error(`the API shows ${api.id ?? 'none'} running, the engine started ${start.id.slice(0, 12)}`);
  const at = (record: EngineEventRecord | undefined) => (record ? record.receivedAt - t0 : Number.NaN);
  const result: KillResult = {
    t0,
    engineMs: start.receivedAt - t0,
    apiMs: api.at - t0,
    killCallMs: tKilled - t0,
    dieMs: at(ctx.watch.find((r) => r.action === 'die' && r.id === old.Id)),
    destroyMs: at(ctx.watch.find((r) => r.action === 'destroy' && r.id === old.Id)),
    createMs: at(ctx.watch.find((r) => r.action === 'create' && r.id === start.id)),
    engineStampMs: start.engineAt - t0,
    calls,
    events: ctx.watch.records
      .filter((r) => r.receivedAt >= t0 && r.receivedAt <= start.receivedAt)
      .map((r) => `${r.action} ${r.id.slice(0, 8)} @${fmt(r.receivedAt - t0)}`),
  };
  await sleep(SETTLE_MS);
  return result;
}

/** The floor: create + start one container with Skiff's create body; removed afterwards. */
async function rawTrial(
  docker: Docker,
  image: string,
  rawClusterId: string,
  service: string,
  createMs: number[],
  startMs: number[],
): Promise<number> {
  const spec = serviceSpecSchema.parse({ name: service, image, replicas: 1 });
  const definition = rawDefinition(service, 0, spec, rawClusterId);
  const t0 = performance.now();
  const container = await withDeadline('raw create', ENGINE_CALL_TIMEOUT_MS, createRaw(docker, definition));
  const t1 = performance.now();
  await withDeadline('raw start', ENGINE_CALL_TIMEOUT_MS, container.start());
  const t2 = performance.now();
  createMs.push(t1 - t0);
  startMs.push(t2 - t1);
  await withDeadline('raw remove', ENGINE_CALL_TIMEOUT_MS, container.remove({ force: true }));
  return t2 - t0;
}

interface KillPhaseResult {
  readonly raw: number[];
  readonly results: KillResult[];
  readonly rawCreate: number[];
  readonly rawStart: number[];
}

async function killPhase(
  docker: Docker,
  api: SkiffApi,
  tracer: EngineTracer,
  clusterId: string,
  rawClusterId: string,
  runId: string,
  options: Options,
): Promise<KillPhaseResult> {
  const service = `heal-kill-${runId}`;
  const rawService = `heal-raw-${runId}`;
  out('1. container killed → replacement running');
  out(`   Skiff: service ${service}, 1 replica, restart_policy always / delay 0s / max_delay 0s.`);
  out('   t0 = SIGKILL issued (dockerode kill); "engine" = its replacement\'s `start` event received');
  out(
    `   from the engine's event stream; "API" = first GET /api/services/{name} (every ${options.pollMs} ms from that \`start\` on) showing it running.`,
  );
  out('   raw floor: dockerode create+start of one container with the same containerDefinition body.');
  out(
    `   Each kill follows a random 0–${KILL_JITTER_MS / 1000} s pause. Trials alternate raw/kill order; one warm-up of each is not counted.`,
  );
  const watch = await EngineEventWatch.open(docker, serviceLabels(clusterId, service));
  const ctx: KillContext = { docker, api, tracer, clusterId, service, watch, pollMs: options.pollMs };
  const raw: number[] = [];
  const rawCreate: number[] = [];
  const rawStart: number[] = [];
  const results: KillResult[] = [];
  try {
    await api.deploy({
      name: service,
      image: options.image,
      replicas: 1,
      restart_policy: { condition: 'always', delay: '0s', max_delay: '0s' },
    });
    await waitUntil(`${service} to be running`, HEALTHY_TIMEOUT_MS, 20, async () => {
      return (await api.service(service)).running === 1 ? true : undefined;
    });
    await rawTrial(docker, options.image, rawClusterId, rawService, [], []);
    await killTrial(ctx);
    for (let trial = 1; trial <= options.trials; trial++) {
      checkInterrupted();
      const rawFirst = trial % 2 === 1;
      let rawMs = Number.NaN;
      if (rawFirst)
        rawMs = await rawTrial(docker, options.image, rawClusterId, rawService, rawCreate, rawStart);
      const result = await killTrial(ctx);
      if (!rawFirst)
        rawMs = await rawTrial(docker, options.image, rawClusterId, rawService, rawCreate, rawStart);
      raw.push(rawMs);
      results.push(result);
      out(
        `   trial ${String(trial).padStart(2)}: raw floor ${fmt(rawMs)} ms | kill → engine start ${fmt(result.engineMs)} ms, → API running ${fmt(result.apiMs)} ms`,
      );
      if (options.trace) {
        out(`      engine events: ${result.events.join(', ')}`);
        const calls = result.calls.map(
          (c) =>
            `${c.op} @${fmt(c.start - result.t0)}+${fmt(c.end - c.start)}${c.detail ? ` (${c.detail})` : ''}`,
        );
        out(`      agent calls: ${calls.join(', ')}`);
      }
    }
    await api.request('DELETE', `/api/services/${service}`);
    await waitGone(docker, serviceLabels(clusterId, service), `the containers of ${service} to be removed`);
  } finally {
    watch.close();
  }
  return { raw, results, rawCreate, rawStart };
}

const indent = (text: string, prefix = '   ') =>
  text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');

/** Medians, over the trials, of where a restart's time went. */
function killBreakdown(phase: KillPhaseResult): string[] {
  const { results } = phase;
  const m = (pick: (r: KillResult) => number) => fmt(median(results.map(pick)));
  const ofOp = (r: KillResult, op: string) => r.calls.filter((c) => c.op === op);
  const firstStart = (r: KillResult, op: string) => Math.min(...ofOp(r, op).map((c) => c.start - r.t0));
  const timeline: [string, (r: KillResult) => number][] = [
    ['kill call returned', (r) => r.killCallMs],
    ['old container `die` event', (r) => r.dieMs],
    ['first agent list that saw it exited (start)', (r) => firstSeenExited(r)?.start ?? Number.NaN],
    ['old container `destroy` event (removed)', (r) => r.destroyMs],
    ['new container `create` event', (r) => r.createMs],
    ['new container `start` event received', (r) => r.engineMs],
    ['new container `start` engine timestamp', (r) => r.engineStampMs],
    ['API shows it running', (r) => r.apiMs],
  ];
  const lines = ['   Timeline after the kill (median over trials, ms after SIGKILL issued):'];
  lines.push(
    indent(
      table(
        ['event', 'ms'],
        timeline.map(([label, pick]) => [label, m(pick)]),
      ),
    ),
  );
  const opRows: string[][] = [];
  for (const op of ['list', 'remove', 'hasImage', 'create', 'start']) {
    const counts = results.map((r) => ofOp(r, op).length);
    const durations = results.flatMap((r) => ofOp(r, op).map((c) => c.end - c.start));
    const starts = results.map((r) => firstStart(r, op)).filter((v) => Number.isFinite(v));
    opRows.push([
      op,
      fmt(median(counts)),
      fmt(median(durations)),
      durations.length > 0 ? fmt(Math.max(...durations)) : '-',
      starts.length > 0 ? fmt(median(starts)) : '-',
    ]);
  }
  lines.push("   The agent's engine calls between the kill and the start event (over all trials):");
  lines.push(indent(table(['call', 'median count/trial', 'median ms', 'max ms', 'median first at'], opRows)));
  // Did the list the `die` event triggered see the container exited, or still running?
  const stale = results.filter((r) => {
    const first = r.calls.find((c) => c.op === 'list' && c.start - r.t0 >= r.dieMs);
    return first?.detail !== undefined && !first.detail.endsWith(' 0 running');
  }).length;
  const waits = results.map((r) => (firstSeenExited(r)?.start ?? Number.NaN) - r.dieMs);
  lines.push(
    `   The agent's first list after the \`die\` event still saw the killed container running in ${stale} of ${results.length} trial(s);`,
    `   the first list that saw it exited began a median ${fmt(median(waits))} ms (max ${fmt(Math.max(...waits))} ms) after \`die\`.`,
    `   raw floor split: create median ${fmt(median(phase.rawCreate))} ms, start median ${fmt(median(phase.rawStart))} ms`,
  );
  return lines;
}

/** The agent's first list in a kill trial that no longer saw the killed container running. */
function firstSeenExited(r: KillResult): { start: number; end: number } | undefined {
  const call = r.calls.find(
    (c) => c.op === 'list' && c.start - r.t0 >= r.dieMs && c.detail?.endsWith(' 0 running') === true,
  );
  return call ? { start: call.start - r.t0, end: call.end - r.t0 } : undefined;
}

// ---------------------------------------------------------------------------------------------
// 2. HTTP check starts failing → marked unhealthy

interface HealthResult {
  readonly ms: number;
  /** GET /health through the published port after detection: 404 when the sickness took. */
  readonly healthStatusAfter: number;
}

async function healthLane(
  api: SkiffApi,
  image: string,
  service: string,
  pollMs: number,
): Promise<HealthResult> {
  await api.deploy({
    name: service,
    image,
    replicas: 1,
    ports: [{ container_port: 8080 }],
    health_check: {
      type: 'http',
      endpoint: 'http://localhost:8080/health',
      interval: CHECK_INTERVAL,
      retries: CHECK_RETRIES,
    },
    restart_policy: { condition: 'never' },
  });
  const hostPort = await waitUntil(`${service} to be healthy`, HEALTHY_TIMEOUT_MS, 50, async () => {
    const replica = (await api.service(service)).containers[0];
    const port = replica?.ports[0]?.host_port;
    return replica?.status === 'running' && replica.health === 'healthy' && port ? port : undefined;
  });
  // A random phase against the probe schedule: lanes deployed together probe in step.
  await sleep(Math.random() * CHECK_INTERVAL_MS);
  const sick = await fetch(`http://127.0.0.1:${hostPort}/cgi-bin/sick`, {
    signal: AbortSignal.timeout(5000),
  });
  await sick.text();
  const t0 = performance.now();
  if (!sick.ok) throw new Error(`GET /cgi-bin/sick on ${service}: HTTP ${sick.status}`);
  const detected = await waitUntil(
    `${service} to be marked unhealthy`,
    UNHEALTHY_TIMEOUT_MS,
    pollMs,
    async () => {
      const replica = (await api.service(service)).containers[0];
      return replica?.health === 'unhealthy' ? performance.now() : undefined;
    },
  );
  const after = await fetch(`http://127.0.0.1:${hostPort}/health`, { signal: AbortSignal.timeout(5000) });
  await after.text();
  return { ms: detected - t0, healthStatusAfter: after.status };
}

async function healthPhase(
  docker: Docker,
  api: SkiffApi,
  clusterId: string,
  runId: string,
  options: Options,
): Promise<number[]> {
  out('2. HTTP check starts failing → marked unhealthy');
  out(
    `   http check on :8080/health, interval ${CHECK_INTERVAL}, retries ${CHECK_RETRIES}, restart_policy never; bound interval × retries = ${UNHEALTHY_BOUND_MS} ms.`,
  );
  out('   t0 = GET /cgi-bin/sick through the published port returned; detected = first');
  out(
    `   GET /api/services/{name} (every ${options.pollMs} ms) with containers[0].health unhealthy. A fresh service per trial,`,
  );
  out(
    `   up to ${HEALTH_LANES} at once, each timed on its own; sick is sent after a random 0–${CHECK_INTERVAL} pause (random probe phase).`,
  );
  const results: number[] = [];
  let round = 0;
  while (results.length < options.trials) {
    checkInterrupted();
    round++;
    const lanes = Math.min(HEALTH_LANES, options.trials - results.length);
    const names = Array.from({ length: lanes }, (_, i) => `heal-sick-${runId}-${round}-${i}`);
    const lane = await Promise.allSettled(
      names.map((name) => healthLane(api, options.image, name, options.pollMs)),
    );
    await Promise.allSettled(names.map((name) => api.request('DELETE', `/api/services/${name}`)));
    for (const [i, settled] of lane.entries()) {
      if (settled.status === 'rejected') throw settled.reason;
      results.push(settled.value.ms);
      const warning = settled.value.healthStatusAfter === 404 ? '' : ' (GET /health afterwards was not 404!)';
      out(
        `   trial ${String(results.length).padStart(2)} (${names[i]}): ${fmt(settled.value.ms)} ms${warning}`,
      );
    }
    for (const name of names) {
      await waitGone(docker, serviceLabels(clusterId, name), `the containers of ${name} to be removed`);
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// 3. Agent CPU with N probed containers

interface CpuResult {
  readonly windowMs: number;
  readonly agentPercent: number;
  readonly agentSamples: number[];
  readonly serverPercent: number;
  readonly containers: number;
  readonly agentCpuMs: number;
}

class ChildAgent {
  readonly process: ChildProcess;
  readonly stderr: string[] = [];

  constructor(server: RunningServer, dataDir: string) {
    this.process = spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'src/cli/main.ts'),
        'agent',
        '--server',
        server.url,
        '--join-token',
        server.tokens.join,
        '--data-dir',
        dataDir,
        '--name',
        'bench-agent',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.process.stderr?.setEncoding('utf8');
    this.process.stderr?.on('data', (chunk: string) => {
      this.stderr.push(...chunk.split('\n').filter((l) => l.trim() !== ''));
      this.stderr.splice(0, Math.max(0, this.stderr.length - 50));
    });
  }

  get pid(): number {
    const pid = this.process.pid;
    if (pid === undefined) throw new Error('the agent process did not start');
    return pid;
  }

  checkAlive(): void {
    if (this.process.exitCode !== null || this.process.signalCode !== null)
      throw new Error(
        `the agent process exited (${this.process.exitCode ?? this.process.signalCode}): ${this.stderr.slice(-5).join(' | ')}`,
      );
  }

  /** SIGTERM by PID, SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    const child = this.process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    try {
      await withDeadline('the agent process to exit', 5000, exited);
    } catch {
      child.kill('SIGKILL');
      await withDeadline('the agent process to die', 5000, exited);
    }
  }
}

/** What the CPU measure started, for main's cleanup: a server of its own and the agent process. */
interface CpuResources {
  readonly skiff: InProcessSkiff;
  agent?: ChildAgent;
}

async function cpuPhase(
  dataDir: string,
  runId: string,
  options: Options,
  resources: CpuResources,
): Promise<CpuResult> {
  const n = options.containers;
  const windowS = options.cpuWindowMs / 1000;
  out(`3. agent CPU with ${n} probed containers (http check every ${CHECK_INTERVAL})`);
  out('   A second server in this process (its own cluster), the agent as its own process');
  out('   (`node src/cli/main.ts agent`); CPU from /proc/<pid>/stat (utime+stime) sampled every second over');
  out(`   a ${windowS} s window once all replicas are healthy; server CPU from process.cpuUsage().`);
  const { api, server } = await resources.skiff.startServer(join(dataDir, 'server'));
  const agent = new ChildAgent(server, join(dataDir, 'agent'));
  resources.agent = agent;
  await resources.skiff.waitNodeReady();
  const services: { name: string; replicas: number }[] = [];
  for (let left = n, i = 0; left > 0; i++) {
    const replicas = Math.min(CPU_SERVICE_SIZE, left);
    services.push({ name: `heal-cpu-${runId}-${i}`, replicas });
    left -= replicas;
  }
  const t0 = performance.now();
  for (const { name, replicas } of services) {
    await api.deploy({
      name,
      image: options.image,
      replicas,
      health_check: {
        type: 'http',
        endpoint: 'http://localhost:8080/health',
        interval: CHECK_INTERVAL,
        retries: CHECK_RETRIES,
      },
    });
  }
  let lastHealthy = 0;
  let lastReport = performance.now();
  await waitUntil(`${n} replicas to be healthy`, 60_000 + n * 1000, 250, async () => {
    agent.checkAlive();
    const views = await api.services();
    const healthy = views.reduce((sum, v) => sum + v.healthy, 0);
    if (healthy !== lastHealthy && performance.now() - lastReport > 5000) {
      out(`   … ${healthy}/${n} healthy after ${fmt(performance.now() - t0)} ms`);
      lastReport = performance.now();
    }
    lastHealthy = healthy;
    return healthy === n ? true : undefined;
  });
  out(`   ${n}/${n} healthy after ${fmt(performance.now() - t0)} ms; settling 3 s before measuring.`);
  await sleep(3000);
  checkInterrupted();

  const pid = agent.pid;
  const startTicks = cpuTicks(pid);
  const startWall = performance.now();
  const startServerCpu = process.cpuUsage();
  const samples: number[] = [];
  let lastTicks = startTicks;
  let lastWall = startWall;
  while (performance.now() - startWall < options.cpuWindowMs - 1) {
    checkInterrupted();
    agent.checkAlive();
    await sleep(Math.min(1000, options.cpuWindowMs - (performance.now() - startWall)));
    const ticks = cpuTicks(pid);
    const wall = performance.now();
    samples.push((((ticks - lastTicks) / CLOCK_TICKS_PER_S) * 1000 * 100) / (wall - lastWall));
    lastTicks = ticks;
    lastWall = wall;
  }
  const windowMs = lastWall - startWall;
  const serverCpu = process.cpuUsage(startServerCpu);
  const agentCpuMs = ((lastTicks - startTicks) / CLOCK_TICKS_PER_S) * 1000;
  // Still all healthy at the end? (A window with replicas failing would not be the case measured.)
  const healthyAtEnd = (await api.services()).reduce((sum, v) => sum + v.healthy, 0);
  if (healthyAtEnd !== n) out(`   warning: only ${healthyAtEnd}/${n} healthy at the end of the window`);
  return {
    windowMs,
    agentPercent: (agentCpuMs * 100) / windowMs,
    agentSamples: samples,
    serverPercent: (((serverCpu.user + serverCpu.system) / 1000) * 100) / windowMs,
    containers: n,
    agentCpuMs,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  abortOnSignals();
  const docker = await localEngine([options.image]);

  const runId = randomUUID().slice(0, 8);
  const rawClusterId = `skiff-bench-raw-${runId}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-heal-'));
  /** Measures 1 and 2: server and agent in this process. */
  const skiff = new InProcessSkiff();
  const cpuResources: CpuResources = { skiff: new InProcessSkiff() };
  const summary: string[][] = [];
  const began = performance.now();
  try {
    await ensureFloorNetwork(docker, rawClusterId);
    out(
      `Skiff self-healing benchmark: image ${options.image}, ${options.trials} trial(s) per measure, ${options.containers} containers for CPU.`,
    );
    out();
    let kill: KillPhaseResult | undefined;
    let health: number[] | undefined;
    if (options.phases.has('kill') || options.phases.has('health')) {
      const tracer = new EngineTracer(new DockerEngine());
      const { api, server } = await skiff.up(join(dataDir, 'server'), {
        engine: tracer.engine,
        name: `bench-heal-${runId}`,
        dataDir: join(dataDir, 'agent'),
        dataPlane: options.dataPlane,
      });
      if (options.phases.has('kill')) {
        kill = await killPhase(docker, api, tracer, server.clusterId, rawClusterId, runId, options);
        out();
        for (const line of killBreakdown(kill)) out(line);
        out();
      }
      if (options.phases.has('health')) {
        health = await healthPhase(docker, api, server.clusterId, runId, options);
        out();
      }
      // The CPU measure's agent must be alone on the engine: stop this one first.
      await skiff.stop();
      await forceRemoveAll(docker, [clusterLabel(server.clusterId)], 8);
    }
    let cpu: CpuResult | undefined;
    if (options.phases.has('cpu')) {
      cpu = await cpuPhase(join(dataDir, 'cpu'), runId, options, cpuResources);
      out(
        `   agent: ${fmt(cpu.agentCpuMs)} ms CPU in ${fmt(cpu.windowMs)} ms = ${pct(cpu.agentPercent)} of one core` +
          ` (1 s samples: median ${pct(median(cpu.agentSamples))}, p95 ${pct(percentile(cpu.agentSamples, 95))}, max ${pct(Math.max(...cpu.agentSamples))});`,
      );
      const probes = (cpu.containers * cpu.windowMs) / CHECK_INTERVAL_MS;
      out(
        `   probes expected in the window: ${cpu.containers} × ${(cpu.windowMs / 1000).toFixed(1)} s / ${CHECK_INTERVAL} ≈ ${probes.toFixed(0)}` +
          ` → ≈ ${((cpu.agentCpuMs * 1000) / probes).toFixed(0)} µs of agent CPU per probe (all agent work included).`,
      );
      out(`   server (this process): ${pct(cpu.serverPercent)} of one core over the same window.`);
      out();
    }

    if (kill) {
      const floor = median(kill.raw);
      const target = floor + KILL_TARGET_OVER_FLOOR_MS;
      const engineMs = kill.results.map((r) => r.engineMs);
      const apiMs = kill.results.map((r) => r.apiMs);
      summary.push([
        'raw floor: create+start one container',
        fmt(floor),
        fmt(percentile(kill.raw, 95)),
        '-',
        '-',
      ]);
      summary.push([
        'killed → replacement started (engine event)',
        fmt(median(engineMs)),
        fmt(percentile(engineMs, 95)),
        `≤ ${fmt(target)} (floor + ${KILL_TARGET_OVER_FLOOR_MS})`,
        median(engineMs) <= target ? 'within target' : 'OVER target',
      ]);
      summary.push([
        'killed → replacement running (API)',
        fmt(median(apiMs)),
        fmt(percentile(apiMs, 95)),
        `≤ ${fmt(target)} (floor + ${KILL_TARGET_OVER_FLOOR_MS})`,
        median(apiMs) <= target ? 'within target' : 'OVER target',
      ]);
      summary.push([
        'killed → replacement running (API), absolute',
        fmt(median(apiMs)),
        fmt(percentile(apiMs, 95)),
        `≤ ${KILL_GOAL_MS} (issue 8)`,
        median(apiMs) <= KILL_GOAL_MS ? 'within goal' : 'OVER goal',
      ]);
    }
    if (health) {
      summary.push([
        `check failing → unhealthy (API; bound ${UNHEALTHY_BOUND_MS})`,
        fmt(median(health)),
        fmt(percentile(health, 95)),
        `≤ ${UNHEALTHY_TARGET_MS} (bound + 1 interval)`,
        median(health) <= UNHEALTHY_TARGET_MS ? 'within target' : 'OVER target',
      ]);
    }
    if (cpu) {
      summary.push([
        `agent CPU, ${cpu.containers} probed @ ${CHECK_INTERVAL} (% of a core)`,
        pct(median(cpu.agentSamples)),
        pct(percentile(cpu.agentSamples, 95)),
        `< ${CPU_TARGET_PERCENT}% (window mean ${pct(cpu.agentPercent)})`,
        cpu.agentPercent < CPU_TARGET_PERCENT ? 'within target' : 'OVER target',
      ]);
      summary.push(['server CPU, same window (window mean)', pct(cpu.serverPercent), '-', '-', '-']);
    }
    out(
      `Summary (ms unless marked; ${options.trials} trials each for the timings, 1 s samples for CPU; p95 by nearest rank):`,
    );
    out(table(['measure', 'median', 'p95', 'target', 'verdict'], summary));
    out(`(run took ${fmt((performance.now() - began) / 1000)} s)`);
  } finally {
    await skiff.stop();
    if (cpuResources.agent) {
      try {
        await cpuResources.agent.stop();
      } catch (error) {
        process.stderr.write(`stopping the agent process: ${errorText(error)}\n`);
        process.exitCode = 1;
      }
    }
    await cpuResources.skiff.stop();
    /** Every cluster this run created containers in. */
    const clusterIds = [rawClusterId, skiff.clusterId, cpuResources.skiff.clusterId].filter(
      (id): id is string => id !== undefined,
    );
    await cleanupStep(() => sweepClusters(docker, clusterIds, 8));
    for (const clusterId of clusterIds) await removeClusterNetworks(docker, clusterId);
    await rm(dataDir, { recursive: true, force: true });
    // The agent process logs its start and stop too: routine as well.
    printAgentLog([
      ...skiff.notableAgentLog(),
      ...(cpuResources.agent?.stderr ?? []).filter(
        (line) =>
          !/registered as |connected to \S+ over mutual TLS|skiff agent started|shutting down/.test(line),
      ),
    ]);
  }
}

runMain('bench:heal', main);
