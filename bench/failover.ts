/**
 * `npm run bench:failover`: how fast Skiff notices a lost host and moves its replicas, on the
 * multi-host lab (scripts/lab.sh: 3 hosts, each a network namespace with its own dockerd and
 * `skiff agent`) with a real `skiff server` listening on the lab bridge, at default settings
 * (heartbeat timeout 1.5 s, down after 3 s, agents heartbeat every 500 ms, controller tick 250 ms).
 *
 * Each trial deploys a fresh service of N replicas (6) with `placement: {strategy: 'spread'}`, so
 * every host runs N/3 and no failure memory of an earlier trial skews placement, and waits until
 * they all run. After a random pause (so the failure lands at any phase of the heartbeat) it fails
 * one host, rotating over the hosts:
 *   - host killed: `lab.killHost(i)` (SIGKILL of its agent, dockerd, containerd, containers):
 *     the agent's TCP connection drops, so the server can notice at once;
 *   - partition:   `lab.partition(i)` (its veth goes down): silence, only missing heartbeats tell.
 * The failure instant is observed, not assumed: while lab.sh runs, this process polls every 1 ms
 * for the agent's PID to be gone (killed) or the veth's IFF_UP flag to clear (partition). The
 * intervals are measured from that instant (lab.sh's own start-up before it is shown apart):
 *   (a) → node unreachable: the server's event (`GET /api/events?follow=true`; event timestamps
 *       are the server's clock, the same machine's) and, beside it, when this process received it;
 *   (b) → node down (its replicas are rescheduled);
 *   (c) → all N replicas running elsewhere: the surviving hosts' engines listed on each start
 *       event they report (and every 250 ms) until N containers of the service run there (a list
 *       every 20 ms was a hundred lists a second on the engines being measured), then the API view
 *       (polled every 20 ms) says
 *       status running with N running replicas, none on the failed node.
 * Then the host comes back (`startHost` / `heal`), and the trial waits until it is ready again
 * and exactly N replicas run in the whole lab (the returning host stopped its stale copies),
 * deletes the service and waits until its containers are gone.
 *
 * Targets: a killed host's connection noticed within 100 ms; a silent failure within 2 s; all
 * replicas running elsewhere within 5 s of the failure. Exits 0 whatever the verdict (it is a
 * measurement); 1 if the run itself failed. Every wait is bounded; the server (by its handle)
 * and the lab are removed at the end, also on failure or Ctrl-C (a second Ctrl-C exits at once).
 *
 * With `restart` in --only (the default), each round also kills one host's agent alone (its engine
 * and containers untouched) and starts it again at once: its replicas answer the other agents'
 * probes, so the node waits out its grace and nothing may move (no down, no `Rescheduling`, the same
 * containers on the same hosts); the replacements the others held prepared meanwhile are removed.
 *
 * Options: --trials N (5 per failure kind), --replicas N (6), --only kill,partition,restart (all),
 * --image REF (skiff-demo:v1), --trace (the agents write every engine call to a file,
 * SKIFF_ENGINE_TRACE; each trial then prints when the surviving engines were asked to start each
 * replacement and when they answered, relative to the down).
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SkiffEvent } from '../src/model/event.ts';
import { eventSchema } from '../src/model/event.ts';
import { DEFAULT_LIVENESS } from '../src/server/node-liveness.ts';
import { agentLogWindow, readTrace, startTimeline } from './harness/agent-trace.ts';
import { serviceLabels, waitGone } from './harness/cleanup.ts';
import type { ReturnSplit } from './harness/host-return.ts';
import { HostReturnWatch, readAgentReturn, returnReport, returnSplit } from './harness/host-return.ts';
import { cpuSnapshot, cpuSpent } from './harness/lab-cpu.ts';
import type { LabSkiff } from './harness/lab-skiff.ts';
import { engineOf, readEngineEvents, runLabBench, StartWatch, waitNodesReady } from './harness/lab-skiff.ts';
import { positiveInt } from './harness/options.ts';
import { processState } from './harness/proc.ts';
import { errorText, fmtMs as fmt, out, table } from './harness/report.ts';
import { median } from './harness/stats.ts';
import { checkInterrupted, sleep, waitUntil, withDeadline } from './harness/wait.ts';

const HOSTS = 3;
const POLL_MS = 20;
/** While replicas move: how often the count of start events is looked at (no engine call). */
const START_CHECK_MS = 2;
/** While replicas move: the engines are listed at least this often, start events or not. */
const LIST_FALLBACK_MS = 250;
const FAILURE_POLL_MS = 1;
const TARGET_KILL_NOTICED_MS = 100;
const TARGET_SILENT_NOTICED_MS = 2000;
const TARGET_MOVED_MS = 5000;
/** The controller's periodic pass (Controller.start's default): liveness is re-derived on it. */
const CONTROLLER_TICK_MS = 250;
const LAB_UP_TIMEOUT_MS = 300_000;
const NODES_READY_TIMEOUT_MS = 60_000;
const DEPLOY_TIMEOUT_MS = 60_000;
const DETECT_TIMEOUT_MS = 20_000;
const MOVE_TIMEOUT_MS = 30_000;
const RESTORE_TIMEOUT_MS = 90_000;
const HTTP_TIMEOUT_MS = 10_000;
/** Before each failure: at least this pause after the service runs, plus up to a heartbeat of jitter. */
const SETTLE_MS = 1000;

const KINDS = ['kill', 'partition'] as const;
type Kind = (typeof KINDS)[number];
const KIND_TITLE: Readonly<Record<Kind, string>> = { kill: 'host killed', partition: 'partition' };
/** `--only` also takes `restart`: an agent killed and started again, which must move nothing. */
const RESTART = 'restart';

interface Options {
  readonly trials: number;
  readonly replicas: number;
  readonly kinds: readonly Kind[];
  /** Run the agent-restart trials too (`--only …,restart`). */
  readonly restarts: boolean;
  readonly image: string;
  /** The agents' engine trace file (--trace), undefined without it. */
  readonly traceFile: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      trials: { type: 'string', default: '5' },
      replicas: { type: 'string', default: '6' },
      only: { type: 'string', default: [...KINDS, RESTART].join(',') },
      image: { type: 'string', default: 'skiff-demo:v1' },
      trace: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const kinds: Kind[] = [];
  let restarts = false;
  for (const word of values.only.split(',').map((w) => w.trim())) {
    if (word === RESTART) {
      restarts = true;
      continue;
    }
    const kind = KINDS.find((k) => k === word);
    if (!kind) throw new Error(`--only: expected some of ${[...KINDS, RESTART].join(',')}, got ${word}`);
    if (!kinds.includes(kind)) kinds.push(kind);
  }
  const replicas = positiveInt('replicas', values.replicas, 60);
  if (replicas < HOSTS) throw new Error(`--replicas: at least ${HOSTS}, so every host runs one`);
  return {
    trials: positiveInt('trials', values.trials, 50),
    replicas,
    kinds,
    restarts,
    image: values.image,
    traceFile: values.trace ? join(tmpdir(), `skiff-failover-trace-${process.pid}.jsonl`) : undefined,
  };
}

// --- the event stream -----------------------------------------------------------------------

interface Received {
  readonly event: SkiffEvent;
  /** The event's timestamp: when the server recorded it (epoch ms). */
  readonly at: number;
  /** When this process read it off the stream (epoch ms). */
  readonly receivedAt: number;
}

/** `GET /api/events?follow=true`, read line by line into `items` as it arrives. */
class EventFeed {
  readonly items: Received[] = [];
  readonly #abort = new AbortController();
  #reading: Promise<void> | undefined;
  #failure: string | undefined;

  async open(url: string, token: string): Promise<void> {
    const response = await fetch(`${url}/api/events?follow=true`, {
      headers: { authorization: `Bearer ${token}` },
      signal: this.#abort.signal,
    });
    if (!response.ok || !response.body) throw new Error(`event stream: HTTP ${response.status}`);
    this.#reading = this.#read(response.body);
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        const receivedAt = Date.now();
        buffer += decoder.decode(chunk, { stream: true });
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line === '') continue;
          const event = eventSchema.parse(JSON.parse(line));
          this.items.push({ event, at: Date.parse(event.timestamp), receivedAt });
        }
      }
      if (!this.#abort.signal.aborted) this.#failure = 'the server ended the event stream';
    } catch (error) {
      if (!this.#abort.signal.aborted) this.#failure = `event stream: ${errorText(error)}`;
    }
  }

  /** The first event at index ≥ `from` that matches. */
  find(from: number, match: (event: SkiffEvent) => boolean): Received | undefined {
    for (let i = from; i < this.items.length; i++) {
      const item = this.items[i];
      if (item && match(item.event)) return item;
    }
    return undefined;
  }

  all(from: number, match: (event: SkiffEvent) => boolean): Received[] {
    return this.items.slice(from).filter((item) => match(item.event));
  }

  async wait(
    what: string,
    from: number,
    timeoutMs: number,
    match: (event: SkiffEvent) => boolean,
  ): Promise<Received> {
    return await waitUntil(what, timeoutMs, 2, async () => {
      if (this.#failure) throw new Error(this.#failure);
      return this.find(from, match);
    });
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await withDeadline('the event stream to close', 5000, this.#reading ?? Promise.resolve()).catch(() => {});
  }
}

// --- the failures ---------------------------------------------------------------------------

/**
 * A probe that turns true once host `host` has failed in the way `kind` makes it fail: its
 * agent's process gone (or a zombie), or its veth's IFF_UP flag cleared.
 */
function failureProbe(kind: Kind, host: number): () => boolean {
  if (kind === 'kill') {
    const pid = Number(readFileSync(`/run/skiff-lab/h${host}/agent.pid`, 'utf8').trim());
    if (!Number.isInteger(pid) || pid < 2) throw new Error(`host ${host}: no agent pid`);
    return () => {
      try {
        const state = processState(pid);
        return state === 'Z' || state === 'X';
      } catch {
        return true;
      }
    };
  }
  return () =>
    (Number.parseInt(readFileSync(`/sys/class/net/slh${host}/flags`, 'utf8').trim(), 16) & 1) === 0;
}

/** When lab.sh signalled host `host`'s processes (epoch ms), from its killed.at; undefined if unknown. */
function readKilledAt(host: number): number | undefined {
  try {
    const seconds = Number.parseFloat(readFileSync(`/run/skiff-lab/h${host}/killed.at`, 'utf8'));
    return Number.isFinite(seconds) ? seconds * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Polls `probe` every ~1 ms until it holds; the time it was first seen to hold, or undefined. */
async function watchFailure(probe: () => boolean, timeoutMs: number): Promise<number | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (probe()) return Date.now();
    await sleep(FAILURE_POLL_MS);
  }
  return undefined;
}

// --- one trial ------------------------------------------------------------------------------

interface TrialResult {
  readonly kind: Kind;
  readonly host: number;
  /** Replicas on each host before the failure, h1/h2/h3 (spread: 10/10/10 for 30). */
  readonly spread: string;
  /** lab.sh called → failure observed. */
  readonly labMs: number;
  /** lab.sh's kill signal (its killed.at) → failure observed; undefined for a partition. */
  readonly signalMs: number | undefined;
  /** Silence already behind the node at the failure: failure − its last heartbeat (server view). */
  readonly sinceHeartbeatMs: number | undefined;
  readonly unreachableMs: number;
  readonly unreachableRecvMs: number;
  readonly unreachableMessage: string;
  readonly downMs: number;
  readonly downRecvMs: number;
  /** Failure → the last `Scheduled … on` of the moved replicas (server). */
  readonly scheduledMs: number | undefined;
  /** Failure → first create / last start of a replacement, from the surviving engines' events. */
  readonly firstCreateMs: number | undefined;
  readonly lastStartMs: number | undefined;
  readonly movedEnginesMs: number;
  readonly movedApiMs: number;
  readonly moved: number;
  readonly restoreMs: number;
  /** The host back (started / healed) → its node ready: the agent's redial over mutual TLS. */
  readonly readyAgainMs: number;
  /** Where the return went: engine, agent start, TCP, TLS, hello, stale replicas stopped. */
  readonly returned: ReturnSplit;
}

interface Bench extends LabSkiff {
  readonly feed: EventFeed;
  readonly options: Options;
}

/** Running containers of `service` on each of `hosts`, straight from their engines. */
async function runningByHost(
  bench: Bench,
  service: string,
  hosts: readonly number[],
): Promise<Map<number, number>> {
  const counts = await Promise.all(
    hosts.map(async (host) => {
      const list = await engineOf(bench, host).listContainers({
        filters: { label: serviceLabels(bench.skiff.clusterId, service), status: ['running'] },
      });
      return [host, list.length] as const;
    }),
  );
  return new Map(counts);
}

const sum = (counts: Map<number, number>) => [...counts.values()].reduce((a, b) => a + b, 0);

/** Deploys `name` and waits until N run, N/3 on each host, per the engines and the API. */
async function deploySpread(bench: Bench, name: string): Promise<Map<number, number>> {
  const { replicas, image } = bench.options;
  await bench.api.request('POST', '/api/deploy', {
    name,
    image,
    replicas,
    placement: { strategy: 'spread' },
  });
  return await waitUntil(
    `${name}: ${replicas} running on the lab hosts`,
    DEPLOY_TIMEOUT_MS,
    100,
    async () => {
      const view = await bench.api.service(name);
      const byHost = await runningByHost(bench, name, bench.hosts);
      return view.status === 'running' && view.running === replicas && sum(byHost) === replicas
        ? byHost
        : undefined;
    },
  );
}

async function removeService(bench: Bench, name: string): Promise<void> {
  await bench.api.request('DELETE', `/api/services/${name}`);
  await waitGone(
    bench.engines,
    serviceLabels(bench.skiff.clusterId, name),
    `${name}: every container removed`,
    {
      intervalMs: 200,
    },
  );
}

async function runTrial(bench: Bench, kind: Kind, host: number, index: number): Promise<TrialResult> {
  const { api, feed, lab, options } = bench;
  const name = `failover-${kind}-${index}`;
  const node = lab.nodeName(host);
  const survivors = bench.hosts.filter((h) => h !== host);
  const before = await deploySpread(bench, name);
  const onVictim = before.get(host) ?? 0;
  if (onVictim === 0) throw new Error(`${name}: host ${host} runs no replica to lose`);
  await sleep(SETTLE_MS + Math.random() * 500);
  checkInterrupted();

  const startWatch = await StartWatch.open(
    survivors.map((h) => engineOf(bench, h)),
    serviceLabels(bench.skiff.clusterId, name),
  );
  const probe = failureProbe(kind, host);
  if (probe()) throw new Error(`host ${host} looks failed before the failure`);
  const cursor = feed.items.length;
  const outputCursor = bench.skiff.output.length;
  const seen = watchFailure(probe, 30_000);
  const t0 = Date.now();
  if (kind === 'kill') await lab.killHost(host);
  else await lab.partition(host);
  const failedAt = await seen;
  if (failedAt === undefined) {
    startWatch.stop();
    throw new Error(`host ${host}: the ${kind} was never observed`);
  }
  const killedAt = kind === 'kill' ? readKilledAt(host) : undefined;
  const cpuAtFailure = options.traceFile ? cpuSnapshot(survivors, bench.skiff.server?.pid) : undefined;

  // (c), from now on while (a) and (b) are awaited on the event stream: the survivors' engines are
  // listed whenever one reports a start (and every LIST_FALLBACK_MS), not polled, so they are not
  // also serving a hundred lists a second while they start the replacements.
  let listedAt = Number.NEGATIVE_INFINITY;
  let listedStarts = -1;
  const movedOnEngines = waitUntil(
    `${name}: ${options.replicas} running on hosts ${survivors}`,
    MOVE_TIMEOUT_MS,
    START_CHECK_MS,
    async () => {
      const seen = startWatch.starts;
      if (seen === listedStarts && Date.now() - listedAt < LIST_FALLBACK_MS) return undefined;
      listedStarts = seen;
      listedAt = Date.now();
      return sum(await runningByHost(bench, name, survivors)) === options.replicas ? Date.now() : undefined;
    },
  ).finally(() => startWatch.stop());
  // The API says running only after an engine did: asked once the engines show them all.
  const movedInApi = movedOnEngines.then(() =>
    waitUntil(
      `${name}: API shows ${options.replicas}/${options.replicas} off ${node}`,
      MOVE_TIMEOUT_MS,
      POLL_MS,
      async () => {
        const view = await api.service(name);
        const elsewhere = view.containers.filter((c) => c.status === 'running' && c.node_id !== node).length;
        return view.status === 'running' &&
          view.running === options.replicas &&
          elsewhere === options.replicas
          ? Date.now()
          : undefined;
      },
    ),
  );
  // Settle both before anything can throw, so no poll outlives the trial.
  const movedSettled = Promise.allSettled([movedOnEngines, movedInApi]);

  const nodeEvent = (prefix: string) => (e: SkiffEvent) =>
    e.type === 'node' && e.node === node && e.message.startsWith(prefix);
  const unreachable = await feed
    .wait(`${node} unreachable`, cursor, DETECT_TIMEOUT_MS, nodeEvent(`Node ${node} is unreachable`))
    .catch(async (error: unknown) => {
      await movedSettled;
      throw error;
    });
  const lastHeartbeat = (await api.node(node)).last_heartbeat;
  const down = await feed
    .wait(`${node} down`, cursor, DETECT_TIMEOUT_MS, nodeEvent(`Node ${node} is down`))
    .catch(async (error: unknown) => {
      await movedSettled;
      throw error;
    });
  const [engines, apiView] = await movedSettled;
  if (engines.status === 'rejected') throw engines.reason;
  if (apiView.status === 'rejected') throw apiView.reason;
  const movedAt = Math.max(engines.value, apiView.value);
  const cpuAtMoved = cpuAtFailure ? cpuSnapshot(survivors, bench.skiff.server?.pid) : undefined;

  // Where (c)'s time went: the server's scheduling, then the surviving engines' create/start.
  const scheduled = feed.all(
    cursor,
    (e) => e.type === 'schedule' && e.service === name && e.message.startsWith('Scheduled '),
  );
  const rescheduled = feed.all(
    cursor,
    (e) => e.type === 'schedule' && e.service === name && e.message.startsWith('Rescheduling '),
  );
  const engineLog = (
    await Promise.all(
      survivors.map((h) =>
        readEngineEvents(
          engineOf(bench, h),
          h,
          serviceLabels(bench.skiff.clusterId, name),
          failedAt,
          movedAt + 1000,
          10_000,
        ),
      ),
    )
  ).flat();
  if (options.traceFile) {
    for (const item of feed.all(cursor, (e) => e.type === 'node' && e.node === node))
      out(`    ${fmt(item.at - failedAt).padStart(6)} ms  ${item.event.message}`);
    for (const line of bench.skiff.output.slice(outputCursor))
      if (line.includes(`indirect probe of ${node}`)) out(`    server: ${line.slice(0, 300)}`);
    traceTrial(options.traceFile, down.at, failedAt, movedAt);
    for (const h of survivors) {
      const lines = agentLogWindow(readFileSync(lab.agentLogPath(h), 'utf8'), down.at - 50, movedAt);
      for (const line of lines)
        out(`        h${h} agent ${fmt(line.at - down.at).padStart(6)}  ${line.text.slice(0, 160)}`);
    }
  }
  if (cpuAtFailure && cpuAtMoved)
    out(
      `    CPU seconds, failure → all running elsewhere: ${cpuSpent(cpuAtFailure, cpuAtMoved)
        .map((row) => `${row.group} ${row.seconds.toFixed(2)}`)
        .join(', ')}`,
    );
  const creates = engineLog.filter((e) => e.action === 'create').map((e) => e.at);
  const starts = engineLog.filter((e) => e.action === 'start').map((e) => e.at);

  // Restore: the host comes back, hears its replicas moved and stops them; exactly N remain.
  const restoreCursor = feed.items.length;
  const restoreStart = Date.now();
  // Polls until it has seen the engine and the agent's launch, or stop(); it never holds the process.
  const watch =
    kind === 'kill' ? new HostReturnWatch(lab.socketPath(host), lab.agentLogPath(host)) : undefined;
  if (kind === 'kill') await lab.startHost(host);
  else await lab.heal(host);
  await waitUntil(`${node} ready again`, RESTORE_TIMEOUT_MS, 20, async () =>
    (await api.node(node)).status === 'ready' ? true : undefined,
  );
  const readyAgainMs = Date.now() - restoreStart;
  await waitUntil(
    `${name}: exactly ${options.replicas} running in the lab, none on host ${host}`,
    RESTORE_TIMEOUT_MS,
    100,
    async () => {
      const byHost = await runningByHost(bench, name, bench.hosts);
      const view = await api.service(name);
      return sum(byHost) === options.replicas && byHost.get(host) === 0 && view.running === options.replicas
        ? true
        : undefined;
    },
  );
  const restoreMs = Date.now() - restoreStart;
  const returned = returnSplit(
    kind,
    restoreStart,
    (await watch?.stop()) ?? { engineUpAt: undefined, launchedAt: undefined },
    readAgentReturn(lab.agentLogPath(host), restoreStart),
    feed.find(restoreCursor, nodeEvent(`Node ${node} is ready`))?.at,
    restoreMs,
  );
  await waitNodesReady(bench, 'all nodes ready after the restore', NODES_READY_TIMEOUT_MS, 100);
  await removeService(bench, name);

  return {
    kind,
    host,
    spread: bench.hosts.map((h) => before.get(h) ?? 0).join('/'),
    labMs: failedAt - t0,
    signalMs: killedAt === undefined ? undefined : failedAt - killedAt,
    sinceHeartbeatMs: lastHeartbeat === null ? undefined : failedAt - Date.parse(lastHeartbeat),
    unreachableMs: unreachable.at - failedAt,
    unreachableRecvMs: unreachable.receivedAt - failedAt,
    unreachableMessage: unreachable.event.message,
    downMs: down.at - failedAt,
    downRecvMs: down.receivedAt - failedAt,
    scheduledMs: scheduled.length > 0 ? Math.max(...scheduled.map((s) => s.at)) - failedAt : undefined,
    firstCreateMs: creates.length > 0 ? Math.min(...creates) - failedAt : undefined,
    lastStartMs: starts.length > 0 ? Math.max(...starts) - failedAt : undefined,
    movedEnginesMs: engines.value - failedAt,
    movedApiMs: apiView.value - failedAt,
    moved: rescheduled.length,
    restoreMs,
    readyAgainMs,
    returned,
  };
}

// --- an agent restart -------------------------------------------------------------------------

interface RestartResult {
  readonly host: number;
  readonly spread: string;
  /** The agent's death observed → the server's `unreachable` event. */
  readonly unreachableMs: number;
  /** The agent's death → lab.sh has started it again (its log says started). */
  readonly startedMs: number;
  /** The agent's death → its node ready again (the server's view). */
  readonly readyMs: number;
  /** Most replacements held prepared on the other hosts at once meanwhile. */
  readonly preparedPeak: number;
  /** The node was called down meanwhile (its replicas then move). */
  readonly calledDown: boolean;
  /** `Rescheduling` events for the service meanwhile. */
  readonly rescheduled: number;
  /** The same containers run, on the same hosts, as before the kill. */
  readonly sameContainers: boolean;
  /** Its death → no prepared container left on the other hosts. */
  readonly preparedGoneMs: number;
}

/** Ids of the service's running containers, and how many unstarted prepared ones, per host. */
async function containersOf(
  bench: Bench,
  service: string,
  hosts: readonly number[],
): Promise<{ running: string[]; prepared: number }> {
  const lists = await Promise.all(
    hosts.map((host) =>
      engineOf(bench, host).listContainers({
        all: true,
        filters: { label: serviceLabels(bench.skiff.clusterId, service) },
      }),
    ),
  );
  const all = lists.flatMap((list, i) => list.map((c) => ({ ...c, host: hosts[i] })));
  return {
    running: all
      .filter((c) => c.State === 'running')
      .map((c) => `h${c.host}:${c.Id}`)
      .sort(),
    prepared: all.filter((c) => c.State === 'created' && c.Labels['skiff.prepared'] === 'true').length,
  };
}

/**
 * Kills host `host`'s agent (SIGKILL, its containers untouched) and starts it again at once, at
 * default settings: its replicas answer the other agents' probes, so the grace stands; meanwhile
 * the others hold its replicas prepared, and once it is back they remove them. Nothing may move.
 */
async function runRestartTrial(bench: Bench, host: number, index: number): Promise<RestartResult> {
  const { api, feed, lab } = bench;
  const name = `failover-restart-${index}`;
  const node = lab.nodeName(host);
  const others = bench.hosts.filter((h) => h !== host);
  const before = await deploySpread(bench, name);
  const idsBefore = (await containersOf(bench, name, bench.hosts)).running;
  await sleep(SETTLE_MS + Math.random() * 500);
  checkInterrupted();

  const probe = failureProbe('kill', host);
  const cursor = feed.items.length;
  const seen = watchFailure(probe, 30_000);
  await lab.killAgent(host);
  const failedAt = await seen;
  if (failedAt === undefined) throw new Error(`host ${host}: the agent's death was never observed`);
  // While it restarts: how many replacements the others hold prepared (listed every 100 ms).
  let preparedPeak = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      preparedPeak = Math.max(preparedPeak, (await containersOf(bench, name, others)).prepared);
      await sleep(100);
    }
  })().catch(() => {});
  try {
    await lab.startAgent(host);
    const startedAt = Date.now();
    const readyAt = await waitUntil(`${node} ready again`, RESTORE_TIMEOUT_MS, 20, async () =>
      (await api.node(node)).status === 'ready' ? Date.now() : undefined,
    );
    const preparedGoneAt = await waitUntil(
      `${name}: no prepared container left on hosts ${others}`,
      RESTORE_TIMEOUT_MS,
      100,
      async () => ((await containersOf(bench, name, others)).prepared === 0 ? Date.now() : undefined),
    );
    watching = false;
    await watch;
    // A node called down meanwhile would have its replicas moved by now; give a pass to say so.
    await sleep(CONTROLLER_TICK_MS * 2);
    const unreachable = feed.find(
      cursor,
      (e) => e.type === 'node' && e.node === node && e.message.startsWith(`Node ${node} is unreachable`),
    );
    const calledDown =
      feed.find(
        cursor,
        (e) => e.type === 'node' && e.node === node && e.message.startsWith(`Node ${node} is down`),
      ) !== undefined;
    const rescheduled = feed.all(
      cursor,
      (e) => e.type === 'schedule' && e.service === name && e.message.startsWith('Rescheduling '),
    ).length;
    const idsAfter = (await containersOf(bench, name, bench.hosts)).running;
    await removeService(bench, name);
    return {
      host,
      spread: bench.hosts.map((h) => before.get(h) ?? 0).join('/'),
      unreachableMs: unreachable ? unreachable.at - failedAt : Number.NaN,
      startedMs: startedAt - failedAt,
      readyMs: readyAt - failedAt,
      preparedPeak,
      calledDown,
      rescheduled,
      sameContainers: idsAfter.join() === idsBefore.join(),
      preparedGoneMs: preparedGoneAt - failedAt,
    };
  } finally {
    watching = false;
    await watch;
  }
}

function reportRestarts(results: readonly RestartResult[]): void {
  if (results.length === 0) return;
  out();
  out(
    `Agent killed and started again (its containers untouched), default settings (down after ${DEFAULT_LIVENESS.downAfterMs} ms of a dropped link):`,
  );
  out(
    table(
      [
        'trial',
        'host',
        'spread',
        'unreachable',
        'agent started',
        'node ready',
        'prepared (peak)',
        'prepared gone',
        'called down',
        'rescheduled',
        'same containers',
      ],
      results.map((r, i) => [
        `${i + 1} agent restart`,
        `h${r.host}`,
        r.spread,
        fmt(r.unreachableMs),
        fmt(r.startedMs),
        fmt(r.readyMs),
        String(r.preparedPeak),
        fmt(r.preparedGoneMs),
        r.calledDown ? 'YES' : 'no',
        String(r.rescheduled),
        r.sameContainers ? 'yes' : 'NO',
      ]),
    ),
  );
  const still = results.filter((r) => !r.calledDown && r.rescheduled === 0 && r.sameContainers).length;
  const ready = stats(results.map((r) => r.readyMs));
  out(
    `  nothing moved in ${still} of ${results.length} restarts: ${still === results.length ? 'MET' : 'MISSED'}; agent death → node ready ${fmt(ready.median)} ms median (${fmt(ready.min)}–${fmt(ready.max)}).`,
  );
  out('  ms from the agent\'s observed death; "prepared": replacements the other hosts held meanwhile.');
}

// --- reporting ------------------------------------------------------------------------------

/** The surviving agents' starts after the down, from their engine trace (--trace). */
function traceTrial(file: string, downAt: number, failedAt: number, movedAt: number): void {
  const calls = readTrace(file, failedAt - 1000, movedAt);
  out(`    trace (ms from the down, which came ${fmt(downAt - failedAt)} ms after the failure):`);
  for (const t of startTimeline(calls, downAt)) {
    const others = Object.entries(t.others)
      .map(([op, n]) => `${n} ${op}`)
      .join(', ');
    out(
      `      ${t.engine}: ${t.starts} starts asked ${fmt(t.firstStartAskedMs)}…${fmt(t.lastStartAskedMs)}, last answered ${fmt(t.lastStartAnsweredMs)}, at most ${t.peakStarts} at once; meanwhile ${others || 'nothing else'}`,
    );
  }
  for (const call of calls.filter((c) => c.start >= downAt - 50))
    out(
      `        ${call.engine} ${call.op.padEnd(6)} ${(call.target ?? '').slice(0, 40).padEnd(40)} ${fmt(call.start - downAt).padStart(6)} → ${fmt(call.end - downAt).padStart(6)}${call.detail ? `  ${call.detail}` : ''}${call.error ? `  ${call.error}` : ''}`,
    );
}

function stats(values: readonly (number | undefined)[]): { median: number; min: number; max: number } {
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (known.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: median(known), min: Math.min(...known), max: Math.max(...known) };
}

function report(results: readonly TrialResult[], kinds: readonly Kind[]): void {
  out();
  out('Per trial (ms from the observed failure; "recv" = when this process read the event):');
  out(
    table(
      [
        'trial',
        'host',
        'spread',
        'lab.sh→failure',
        'silent before',
        'unreachable',
        'recv',
        'down',
        'recv',
        'scheduled',
        '1st create',
        'last start',
        'moved:engines',
        'moved:API',
        'restore',
      ],
      results.map((r, i) => [
        `${i + 1} ${KIND_TITLE[r.kind]}`,
        `h${r.host}`,
        r.spread,
        fmt(r.labMs),
        fmt(r.sinceHeartbeatMs),
        fmt(r.unreachableMs),
        fmt(r.unreachableRecvMs),
        fmt(r.downMs),
        fmt(r.downRecvMs),
        fmt(r.scheduledMs),
        fmt(r.firstCreateMs),
        fmt(r.lastStartMs),
        fmt(r.movedEnginesMs),
        fmt(r.movedApiMs),
        fmt(r.restoreMs),
      ]),
    ),
  );
  const messages = [
    ...new Set(
      results.map((r) => `${KIND_TITLE[r.kind]}: "${r.unreachableMessage.replace(/lab-h\d+/, 'X')}"`),
    ),
  ];
  out(`  unreachable events seen: ${messages.join('; ')}`);
  out("  silent before: failure − the node's last heartbeat as the server recorded it (GET /api/nodes/X).");

  out();
  out('Summary (median, min–max over the trials; intervals from the observed failure):');
  const rows: string[][] = [];
  const verdict = (value: number, target: number | undefined) =>
    target === undefined ? '' : !Number.isFinite(value) ? 'NO DATA' : value <= target ? 'MET' : 'MISSED';
  for (const kind of kinds) {
    const mine = results.filter((r) => r.kind === kind);
    if (mine.length === 0) continue;
    const noticeTarget = kind === 'kill' ? TARGET_KILL_NOTICED_MS : TARGET_SILENT_NOTICED_MS;
    const line = (what: string, values: readonly (number | undefined)[], target?: number, strict = false) => {
      const s = stats(values);
      // A target is met when every trial meets it (the max); the median is shown beside it.
      const judged = strict ? s.max : s.median;
      rows.push([
        `${KIND_TITLE[kind]}: ${what}`,
        fmt(s.median),
        `${fmt(s.min)}–${fmt(s.max)}`,
        target === undefined ? '' : `≤ ${target}`,
        verdict(judged, target),
      ]);
    };
    line(
      '(a) failure → unreachable (server)',
      mine.map((r) => r.unreachableMs),
      noticeTarget,
      true,
    );
    line(
      '    failure → unreachable (received)',
      mine.map((r) => r.unreachableRecvMs),
    );
    if (kind === 'kill')
      line(
        '    kill signalled (lab.sh) → unreachable (server)',
        mine.map((r) => (r.signalMs === undefined ? undefined : r.unreachableMs + r.signalMs)),
        TARGET_KILL_NOTICED_MS,
        true,
      );
    line(
      '(b) failure → down (server)',
      mine.map((r) => r.downMs),
    );
    line(
      '(c) failure → all running elsewhere (engines)',
      mine.map((r) => r.movedEnginesMs),
      TARGET_MOVED_MS,
      true,
    );
    line(
      '    failure → all running elsewhere (API)',
      mine.map((r) => r.movedApiMs),
      TARGET_MOVED_MS,
      true,
    );
  }
  out(table(['measure', 'median', 'min–max', 'target', 'verdict'], rows));
  out('  verdict: MET when every trial (the max) is within the target.');
  if (kinds.includes('kill')) {
    out(
      "  A killed agent's socket is closed by the kernel as its process exits, before /proc shows the process",
    );
    out('  gone, so the server may record the disconnect a few ms before this process observes the death');
    out(
      '  (negative values); "kill signalled → unreachable" bounds that interval from above (lab.sh first finds every',
    );
    out(
      '  process of the host, then kills them with one signal and notes the instant: "lab.sh→failure" includes the finding).',
    );
  }

  out();
  out('Where (c) goes (medians, ms): failure → down → replicas scheduled → first create → last start → seen');
  const breakdown: string[][] = [];
  for (const kind of kinds) {
    const mine = results.filter((r) => r.kind === kind);
    if (mine.length === 0) continue;
    const step = (values: readonly (number | undefined)[]) => fmt(stats(values).median);
    breakdown.push([
      KIND_TITLE[kind],
      step(mine.map((r) => r.downMs)),
      step(mine.map((r) => (r.scheduledMs === undefined ? undefined : r.scheduledMs - r.downMs))),
      step(
        mine.map((r) =>
          r.firstCreateMs === undefined || r.scheduledMs === undefined
            ? undefined
            : r.firstCreateMs - r.scheduledMs,
        ),
      ),
      step(
        mine.map((r) =>
          r.lastStartMs === undefined || r.firstCreateMs === undefined
            ? undefined
            : r.lastStartMs - r.firstCreateMs,
        ),
      ),
      step(mine.map((r) => (r.lastStartMs === undefined ? undefined : r.movedEnginesMs - r.lastStartMs))),
      step(mine.map((r) => r.movedEnginesMs)),
      String(stats(mine.map((r) => r.moved)).median),
    ]);
  }
  out(
    table(
      [
        'failure',
        'failure→down',
        'down→scheduled',
        'sched→1st create',
        '1st create→last start',
        'start→seen',
        'total',
        'moved',
      ],
      breakdown,
    ),
  );
  out(
    `  bounds at these settings: unreachable by silence after ${DEFAULT_LIVENESS.heartbeatTimeoutMs} ms, down after ${DEFAULT_LIVENESS.downAfterMs} ms of silence, both judged on the controller's ${CONTROLLER_TICK_MS} ms tick;`,
  );
  out(
    "  a killed agent's silence starts when its connection drops; a partitioned one's at its last heartbeat.",
  );
}

/**
 * The same bench on the plain-WebSocket build (main at e801347, before the agent link was mutual
 * TLS), run on this VM on 2026-12-01 just before the TLS figures (5 trials per kind, medians).
 * Restore there polled every 100 ms, here every 20 ms. The kill restore is newer: the plain build's
 * median of 24 trials run on 2026-12-02, alternated run by run with this bench under one lab hold
 * (load average 2–16; this build's median 2,155 ms then).
 */
const PLAIN: Record<
  Kind,
  { unreachableMs: number; downMs: number; movedEnginesMs: number; restoreMs: number }
> = {
  kill: { unreachableMs: 20, downMs: 3176, movedEnginesMs: 3850, restoreMs: 1704 },
  partition: { unreachableMs: 1421, downMs: 2928, movedEnginesMs: 3555, restoreMs: 2886 },
};

/** The medians beside the plain build's: the agent link's TLS must not cost more than 10%. */
function reportTls(results: readonly TrialResult[], kinds: readonly Kind[]): void {
  out();
  out(
    'With TLS on (agents over mutual TLS) beside plain (the same bench on the plain-WebSocket build, e801347):',
  );
  const rows: string[][] = [];
  for (const kind of kinds) {
    const mine = results.filter((r) => r.kind === kind);
    if (mine.length === 0) continue;
    const row = (what: string, now: number, before: number) => {
      const ratio = now / before;
      // Under 50 ms a 10% change is below what one trial's jitter is (the 20 ms polls, a tick).
      const ok = now - before <= Math.max(0.1 * before, 50);
      rows.push([
        `${KIND_TITLE[kind]}: ${what}`,
        fmt(now),
        Number.isFinite(before) ? fmt(before) : '-',
        Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '-',
        Number.isFinite(before) ? (ok ? 'within 10%' : 'WORSE >10%') : '',
      ]);
    };
    const plain = PLAIN[kind];
    row('failure → unreachable', stats(mine.map((r) => r.unreachableMs)).median, plain.unreachableMs);
    row('failure → down', stats(mine.map((r) => r.downMs)).median, plain.downMs);
    row(
      'failure → all running elsewhere',
      stats(mine.map((r) => r.movedEnginesMs)).median,
      plain.movedEnginesMs,
    );
    row(
      'host back → restored (N replicas, stale stopped)',
      stats(mine.map((r) => r.restoreMs)).median,
      plain.restoreMs,
    );
  }
  out(table(['measure (median ms)', 'TLS', 'plain', 'ratio', 'verdict'], rows));
  const partition = results.filter((r) => r.kind === 'partition').map((r) => r.readyAgainMs);
  const kill = results.filter((r) => r.kind === 'kill').map((r) => r.readyAgainMs);
  out(
    `  TLS agent reconnect, host back → node ready (median): after a partition ${fmt(stats(partition).median)} ms (the agent redials on its saved node certificate: TLS handshake with client certificate + hello),` +
      ` after a kill ${fmt(stats(kill).median)} ms (dockerd and the agent start first); bench:deploy measures the reconnect alone.`,
  );
  out(
    "  The plain build is 469 commits older and its figures are another day's: its agent did far less at start, so the",
  );
  out(
    "  restore row is no TLS comparison. TLS's own share is the handshake in the split below (same trials).",
  );
}

/**
 * Where the host's return went, step by step, and the TLS handshake's share of it: the same
 * trials' fair plain-link figure (the plain build above is 469 commits older and was run on
 * another load; its agent did much less at start).
 */
function reportReturns(results: readonly TrialResult[]): void {
  const { header, rows, notes } = returnReport(
    results.map((r) => ({ ...r.returned, kind: KIND_TITLE[r.kind] })),
    median,
  );
  out();
  out('Where the return goes (host back → restored; "step" from the step before, medians of each):');
  out(table(header, rows));
  for (const note of notes) out(`  ${note}`);
}

// --- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const feed = new EventFeed();
  // The lab's agents inherit this process's environment (lab.sh launches them).
  if (options.traceFile) process.env.SKIFF_ENGINE_TRACE = options.traceFile;
  await runLabBench(
    'failover',
    async (session) => {
      out(
        `Skiff failover benchmark: ${HOSTS} lab hosts, a service of ${options.replicas} replicas (spread) per trial,`,
      );
      out(
        `  ${options.trials} trial(s) per failure kind (${[...options.kinds.map((k) => KIND_TITLE[k]), ...(options.restarts ? ['agent restart'] : [])].join(', ')}), default liveness settings`,
      );
      out(
        `  (heartbeat timeout ${DEFAULT_LIVENESS.heartbeatTimeoutMs} ms, down after ${DEFAULT_LIVENESS.downAfterMs} ms). Targets: killed host noticed ≤ ${TARGET_KILL_NOTICED_MS} ms,`,
      );
      out(
        `  silent failure noticed ≤ ${TARGET_SILENT_NOTICED_MS} ms, all replicas running elsewhere ≤ ${TARGET_MOVED_MS} ms.`,
      );
      const upStart = Date.now();
      const labSkiff = await session.up(HOSTS, {
        labUpTimeoutMs: LAB_UP_TIMEOUT_MS,
        httpTimeoutMs: HTTP_TIMEOUT_MS,
      });
      const { skiff } = labSkiff;
      const bench: Bench = { ...labSkiff, feed, options };
      await waitNodesReady(bench, `${HOSTS} ready nodes`, NODES_READY_TIMEOUT_MS, 100);
      await feed.open(skiff.url, skiff.token);
      out(
        `  lab up, server on ${skiff.url}, ${HOSTS} agents ready in ${((Date.now() - upStart) / 1000).toFixed(1)} s`,
      );
      out();

      const results: TrialResult[] = [];
      const restarts: RestartResult[] = [];
      // Kinds interleave trial by trial; the failed host rotates over the hosts within a kind.
      for (let trial = 0; trial < options.trials; trial++) {
        if (options.restarts) {
          const host = (trial % HOSTS) + 1;
          const result = await runRestartTrial(bench, host, trial + 1);
          restarts.push(result);
          out(
            `  agent restart h${host} (trial ${trial + 1}/${options.trials}, spread ${result.spread}): node ready again ${fmt(result.readyMs)} ms, ${result.preparedPeak} prepared meanwhile, ${result.calledDown || result.rescheduled > 0 || !result.sameContainers ? 'SOMETHING MOVED' : 'nothing moved'}`,
          );
        }
        for (const kind of options.kinds) {
          const host = (trial % HOSTS) + 1;
          const result = await runTrial(bench, kind, host, trial + 1);
          results.push(result);
          out(
            `  ${KIND_TITLE[kind]} h${host} (trial ${trial + 1}/${options.trials}, spread ${result.spread}): unreachable ${fmt(result.unreachableMs)} ms, down ${fmt(result.downMs)} ms, all ${options.replicas} running elsewhere ${fmt(result.movedEnginesMs)} ms (engines) / ${fmt(result.movedApiMs)} ms (API); restored in ${fmt(result.restoreMs)} ms`,
          );
        }
      }
      if (results.length > 0) {
        report(results, options.kinds);
        reportTls(results, options.kinds);
        reportReturns(results);
      }
      reportRestarts(restarts);
    },
    () => feed.close(),
  );
  // After the lab is down: its agents write to the file until they stop.
  if (options.traceFile) rmSync(options.traceFile, { force: true });
}

await main();
