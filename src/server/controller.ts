/**
 * The controller: level-triggered reconciliation of the whole cluster, one pass at a time. A pass
 * reads one snapshot (pass-snapshot.ts), plans everything it decides as a value (plan-pass.ts,
 * pure) and applies the plan (apply-pass.ts: one transaction, then what changed is sent).
 * Triggers are coalesced; a periodic tick retries what waits on time or room. Writers (the API)
 * write their intent, trigger, and may wait for the pass that includes it (`settle`).
 */
import { randomUUID } from 'node:crypto';
import type { AddressPool } from '../model/addressing.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { TaskObservation } from '../model/task.ts';
import { DEFAULT_TTL_SECONDS } from '../net/dns/dns-answer.ts';
import type { AgentMessage } from '../protocol/messages.ts';
import type { RegistryCredentialStore } from '../registry/credential-store.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { Store } from '../store/store.ts';
import { unowned } from '../store/write-owner.ts';
import { sendPass, writePass } from './apply-pass.ts';
import type { Cluster } from './cluster.ts';
import { EndpointsOutbox } from './endpoints-outbox.ts';
import type { EventLog } from './event-log.ts';
import type { ImageInventory } from './image-inventory.ts';
import type { LivenessSettings } from './node-liveness.ts';
import { livenessFor } from './node-liveness.ts';
import { silenceBound } from './pass-quiet.ts';
import type { PassMemory } from './pass-snapshot.ts';
import { readSnapshot, specKey } from './pass-snapshot.ts';
import type { PassPlan } from './plan-pass.ts';
import { planPass } from './plan-pass.ts';

type Report = Extract<AgentMessage, { type: 'report' }>;

export interface ControllerOptions {
  readonly store: Store;
  readonly cluster: Cluster;
  readonly events: EventLog;
  readonly liveness: LivenessSettings;
  /** The cluster's address pool: how many networks there can be. */
  readonly addressPool: AddressPool;
  readonly now: () => number;
  readonly log: (message: string) => void;
  /** How long a freed address waits after every agent acknowledged its removal: one DNS TTL. */
  readonly addressHoldMs?: number;
  /**
   * Told how long each pass took (ms) and how that split into its steps, for the metrics and
   * benchmarks (a failover's pass is most of what follows a node's grace).
   */
  readonly onPass?: (durationMs: number, steps: PassSteps) => void;
  /** Told each plan once it is applied (the metrics count rollouts and placements from it). */
  readonly onPlan?: (plan: PassPlan) => void;
  /** The heartbeat interval `liveness` was made for (default: a third of its timeout). */
  readonly heartbeatIntervalMs?: number;
  /** Ids for new tasks; random unless a simulation wants them reproducible. */
  readonly newTaskId?: () => string;
  /** Where the values of the secrets and configs tasks refer to come from; none: no files are sent. */
  readonly secrets?: SecretStore;
  /** Registry credentials, sent with the tasks whose images come from those registries. */
  readonly registries?: RegistryCredentialStore;
  /** How many nodes a rollout's pull phase asks at once (default reconciler/pre-pull.ts PULL_PARALLELISM). */
  readonly pullParallelism?: number;
  /** The nodes' images as their agents reported them: the scheduler prefers nodes that have a replica's. */
  readonly images?: ImageInventory;
}

/** How long `settle` waits for its pass before the caller answers with what is decided so far. */
export const SETTLE_TIMEOUT_MS = 2000;

/**
 * The tick's pass runs at least this often even when nothing changed and the last pass was quiet
 * (pass-quiet.ts): a safety net for an input that changed without a trigger.
 */
export const SAFETY_PASS_MS = 5000;

/**
 * A pass that only takes in agents' reports waits this many times the last pass's duration after
 * it (others wait once that): under a stream of reports (100 replicas churning a second at 1,000
 * nodes, a pass of 20-30 ms) such passes take at most a fifth of the event loop, not a half, and
 * requests meet fewer of them. What a report changes is observed state, which the API shows at
 * once (applyReport writes it); the pass it asks for places nothing urgent, and the endpoints it
 * changes wait out their own pace (250 ms at 1,000 nodes) anyway. A write, a connection or a
 * tick's pass still runs as soon as before, and takes the waiting pass along.
 */
export const REPORT_PASS_PACE = 4;

/** A pass's time by step (ms): its snapshot read, `planPass`, the transaction, the sending. */
export interface PassSteps {
  readonly readMs: number;
  readonly planMs: number;
  readonly writeMs: number;
  readonly sendMs: number;
}

const NO_STEPS: PassSteps = { readMs: 0, planMs: 0, writeMs: 0, sendMs: 0 };

interface Waiter {
  /** Resolved once this many passes have finished. */
  readonly passes: number;
  readonly resolve: () => void;
}

export class Controller {
  readonly #options: ControllerOptions;
  /** A follower's controller (HA) runs no pass: only the leader's decides (see `pause`). */
  #paused = false;
  /** Counts pauses and resumes: a pass that began in an earlier term sends nothing. */
  #term = 0;
  #scheduled = false;
  /** When the scheduled pass runs (performance.now() ms), and its timer: a sooner trigger moves it. */
  #scheduledAt = Number.POSITIVE_INFINITY;
  #cancelScheduled: (() => void) | undefined;
  /**
   * Something a pass reads may have changed since the last pass began (a trigger other than the
   * tick's); with `#clusterVersion` and `#quietUntil`, what lets the tick skip a pass.
   */
  #dirty = true;
  #clusterVersion = -1;
  /** From the last pass's plan: before this (epoch ms), a pass on the same inputs decides nothing. */
  #quietUntil = 0;
  /**
   * The last pass was quiet until a ready node's silence (pass-quiet.ts): once `#quietUntil` is
   * over, the nodes' beats since then may have moved that bound later (`silenceBound`).
   */
  #quietWhileBeating = false;
  /** When the last pass began (performance.now() ms), for the safety pass. */
  #lastPassStartedAt = 0;
  #passesSkipped = 0;
  #tick: NodeJS.Timeout | undefined;
  #tickMs = 250;
  /** A pass at the moment an unreachable node's grace ends (`#wakeAtDown`), and when that is. */
  #downTimer: NodeJS.Timeout | undefined;
  #downTimerAt = Number.POSITIVE_INFINITY;
  readonly #revisionSpecs = new Map<string, ServiceSpec>();
  #memory: PassMemory;
  #passesStarted = 0;
  /** When the last pass ended and how long it took (performance.now() ms), to pace the next. */
  #lastPassEndedAt = 0;
  #lastPassMs = 0;
  #passesFinished = 0;
  #waiters: Waiter[] = [];
  /** A pass's writes are being committed (a store whose writes are not durable at once). */
  #committing = false;
  #againAfterCommit = false;
  #unsubscribeStore: (() => void) | undefined;
  /** Endpoints on their way to the nodes, a slice a turn (endpoints-outbox.ts). */
  readonly #outbox: EndpointsOutbox;

  constructor(options: ControllerOptions) {
    this.#options = options;
    this.#memory = freshMemory(options.now());
    // Nodes that waited for their endpoints may have missed generations meanwhile.
    this.#outbox = new EndpointsOutbox(options.cluster, () => this.trigger());
  }

  start(tickMs = 250): void {
    this.#tickMs = tickMs;
    this.#tick = setInterval(() => this.tick(), tickMs);
    // Another server wrote (a deploy taken by a follower): the leader's pass picks it up at once.
    this.#unsubscribeStore = this.#options.store.onChange(() => this.trigger());
    this.trigger();
  }

  stop(): void {
    clearInterval(this.#tick);
    this.#clearDownTimer();
    this.#unsubscribeStore?.();
    this.#outbox.clear();
    this.#wake(Number.POSITIVE_INFINITY);
  }

  /**
   * Stops deciding (this server no longer leads): no pass runs until `resume`, and writers do not
   * wait for one (the leader's pass will take their write, woken by the store's onChange).
   */
  pause(): void {
    this.#paused = true;
    this.#term++;
    this.#clearDownTimer();
    // What the leader of then decided is not sent by a follower.
    this.#outbox.clear();
    this.#wake(Number.POSITIVE_INFINITY);
  }

  /**
   * Decides again (this server leads now), from a fresh memory: another server decided in
   * between, so nothing remembered from before (failures, endpoints sent, generations) holds.
   */
  resume(): void {
    this.#memory = freshMemory(this.#options.now());
    this.#revisionSpecs.clear();
    this.#paused = false;
    this.#term++;
    this.trigger();
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Nodes yet to be sent the newest endpoints (benchmarks wait for none): those whose message
   * waits in the outbox, or every node while a change waits out its pace (plan-pass.ts).
   */
  get endpointsWaiting(): number {
    return this.#memory.endpoints?.pending ? this.#options.cluster.size : this.#outbox.size;
  }

  /** Tick passes skipped because nothing had changed (for tests and benchmarks). */
  get passesSkipped(): number {
    return this.#passesSkipped;
  }

  /**
   * The periodic timer's call: a pass when one may decide something, that is when an input
   * changed (a trigger, a change to a node's session), the last pass's quiet time is over (a
   * node may have gone silent, a pace or hold may have ended), or the safety pass is due.
   * Otherwise nothing: an idle cluster of 1,000 nodes costs no passes at 4 a second.
   */
  tick(): void {
    if (this.#paused) return;
    // Nodes' graces end before the next tick, and their pass is due then: it does this one's work
    // too, and a pass now would call some of them down and leave the rest to another pass.
    if (this.#downTimerAt - this.#options.now() < this.#tickMs) {
      this.#passesSkipped++;
      return;
    }
    // A pass already waits (a report's, paced at REPORT_PASS_PACE): the tick's runs at the usual
    // pace, so a node whose grace ended is called down no later than before.
    if (this.#scheduled) {
      this.#schedule();
      return;
    }
    const unchanged =
      !this.#dirty &&
      this.#clusterVersion === this.#options.cluster.version &&
      performance.now() - this.#lastPassStartedAt < SAFETY_PASS_MS;
    if (unchanged && this.#stillQuiet(this.#options.now())) {
      this.#passesSkipped++;
      return;
    }
    this.#schedule();
  }

  /**
   * Whether a pass at `now` on unchanged inputs would decide nothing: before the last pass's quiet
   * time, or after it while every ready node has beaten within its timeout since (the bound moves
   * on with their beats; at 1,000 nodes a beat every 10–12.5 s, judged by a 30–37.5 s timeout).
   */
  #stillQuiet(now: number): boolean {
    if (now < this.#quietUntil) return true;
    if (!this.#quietWhileBeating) return false;
    const { cluster, liveness } = this.#options;
    const baseMs = this.#baseHeartbeatIntervalMs;
    const until = silenceBound(
      cluster.sessions(),
      (node) => livenessFor(liveness, baseMs, node.heartbeatIntervalMs ?? baseMs).heartbeatTimeoutMs,
    );
    if (until === undefined || until <= now) return false;
    this.#quietUntil = until;
    return true;
  }

  /** The interval the base liveness settings were made for (node-liveness.ts `livenessFor`). */
  get #baseHeartbeatIntervalMs(): number {
    return this.#options.heartbeatIntervalMs ?? Math.round(this.#options.liveness.heartbeatTimeoutMs / 3);
  }

  /**
   * Asks for a pass soon; many triggers in one turn of the event loop make one pass. After a pass
   * that took t ms the next waits until t ms have passed: under a stream of reports the passes
   * take at most half the event loop, and requests (writes above all) keep the other half.
   */
  trigger(afterMs = 0): void {
    this.#dirty = true;
    this.#schedule(1, afterMs);
  }

  /**
   * `pace`: how many times the last pass's duration to wait after it (REPORT_PASS_PACE for
   * reports); `afterMs`: not sooner than this from now (a burst of closes gathered into one pass),
   * unless a pass is due sooner anyway.
   */
  #schedule(pace = 1, afterMs = 0): void {
    if (this.#paused) return;
    const paced = this.#lastPassEndedAt + pace * this.#lastPassMs;
    const at = afterMs > 0 ? Math.max(paced, performance.now() + afterMs) : paced;
    if (this.#scheduled && at >= this.#scheduledAt) return;
    this.#cancelScheduled?.();
    this.#scheduled = true;
    this.#scheduledAt = at;
    // A pass is nobody's request: a request that triggered it is not told the pass's outcome.
    const run = () =>
      unowned(() => {
        this.#scheduled = false;
        this.#scheduledAt = Number.POSITIVE_INFINITY;
        this.#cancelScheduled = undefined;
        this.#run();
      });
    const waitMs = at - performance.now();
    if (waitMs >= 1) {
      const timer = setTimeout(run, waitMs);
      this.#cancelScheduled = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(run);
      this.#cancelScheduled = () => clearImmediate(immediate);
    }
  }

  /**
   * Resolves once a pass that started after this call has finished (so it saw every write made
   * before it), or after `timeoutMs`, whichever comes first; never rejects. A failed pass counts
   * as finished: the caller answers with whatever has been decided.
   */
  settle(timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
    if (this.#paused) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#waiters.push({
        passes: this.#passesStarted + 1,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.trigger();
    });
  }

  #run(): void {
    if (this.#paused) return;
    if (this.#committing) {
      this.#againAfterCommit = true;
      return;
    }
    try {
      if (this.#options.store.kind === 'sqlite') this.sync();
      else void this.#passCommitted();
    } catch (error) {
      this.#logFailure(error);
    }
  }

  #logFailure(error: unknown): void {
    this.#options.log(
      `reconcile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }

  /**
   * A pass on a store that commits asynchronously (etcd): the plan is written, its transaction
   * awaited, and only then sent; no other pass starts meanwhile, and a pass whose commit failed
   * sends nothing and leaves the controller's memory as it was (the next pass decides again).
   */
  async #passCommitted(): Promise<void> {
    const { store } = this.#options;
    const startedAt = performance.now();
    this.#passesStarted++;
    this.#committing = true;
    const term = this.#term;
    let steps = NO_STEPS;
    try {
      const mark = store.writeMark();
      const { plan, at, targets, readMs, planMs } = this.#plan();
      const writeStart = performance.now();
      writePass(plan, targets, at);
      await store.durable(mark);
      // This server stepped down (or stepped down and up again) while the pass committed: what it
      // decided as the leader of then is neither remembered nor sent.
      if (term !== this.#term) return;
      this.#memory = plan.memory;
      const sendStart = performance.now();
      sendPass(plan, targets);
      steps = { readMs, planMs, writeMs: sendStart - writeStart, sendMs: performance.now() - sendStart };
      this.#quiet(plan.quietUntil, at);
      this.#wakeAtDown(plan.downAt);
      if (plan.again) this.trigger();
    } catch (error) {
      this.#logFailure(error);
      this.#againAfterCommit = true;
    } finally {
      this.#committing = false;
      this.#finished(startedAt, steps);
      if (this.#againAfterCommit) {
        this.#againAfterCommit = false;
        this.trigger();
      }
    }
  }

  /**
   * A pass at `downAt` (epoch ms: an unreachable node's grace ends, plan-pass.ts), rather than at
   * the first tick after it: 0–250 ms (125 on average) of every failover went to waiting for the
   * tick. A trigger, so the pass runs at once unless one just ran (then at its usual pace).
   */
  #wakeAtDown(downAt: number | undefined): void {
    // Not started (tests calling `sync` themselves): no pass of its own.
    if (downAt === undefined || this.#paused || !this.#tick) {
      this.#clearDownTimer();
      return;
    }
    if (downAt === this.#downTimerAt) return;
    this.#clearDownTimer();
    this.#downTimerAt = downAt;
    // A millisecond late: `now()` is in whole ms, and a pass a moment early finds it still unreachable.
    const delayMs = Math.max(0, downAt - this.#options.now()) + 1;
    this.#downTimer = setTimeout(() => {
      this.#downTimer = undefined;
      this.#downTimerAt = Number.POSITIVE_INFINITY;
      this.trigger();
    }, delayMs);
    // The tick keeps the loop alive; this timer only brings its pass forward.
    this.#downTimer.unref();
  }

  #clearDownTimer(): void {
    clearTimeout(this.#downTimer);
    this.#downTimer = undefined;
    this.#downTimerAt = Number.POSITIVE_INFINITY;
  }

  /** A pass planned at `at` is quiet until `until` (`at` itself: not quiet). */
  #quiet(until: number, at: number): void {
    this.#quietUntil = until;
    this.#quietWhileBeating = until > at && Number.isFinite(until);
  }

  #finished(startedAt: number, steps: PassSteps): void {
    this.#lastPassEndedAt = performance.now();
    this.#lastPassMs = this.#lastPassEndedAt - startedAt;
    this.#passesFinished++;
    this.#wake(this.#passesFinished);
    this.#options.onPass?.(this.#lastPassMs, steps);
  }

  /**
   * One full pass, now: snapshot, plan, apply. Synchronous: SQLite is, and so is every decision
   * (on etcd the loop waits for the commit before sending; tests on SQLite call this directly).
   */
  sync(): void {
    const startedAt = performance.now();
    this.#passesStarted++;
    let steps = NO_STEPS;
    try {
      const { plan, at, targets, readMs, planMs } = this.#plan();
      // applyPass's two halves, timed apart.
      const writeStart = performance.now();
      writePass(plan, targets, at);
      const sendStart = performance.now();
      sendPass(plan, targets);
      steps = { readMs, planMs, writeMs: sendStart - writeStart, sendMs: performance.now() - sendStart };
      this.#memory = plan.memory;
      this.#quiet(plan.quietUntil, at);
      this.#wakeAtDown(plan.downAt);
      this.#options.onPlan?.(plan);
      if (plan.again) this.trigger();
    } finally {
      this.#finished(startedAt, steps);
    }
  }

  #plan() {
    const { store, cluster, events, now } = this.#options;
    // Seen from here on: a trigger or session change after this read makes the next tick run.
    this.#dirty = false;
    this.#clusterVersion = cluster.version;
    this.#quietUntil = 0;
    this.#quietWhileBeating = false;
    const readStart = performance.now();
    this.#lastPassStartedAt = readStart;
    const snapshot = readSnapshot({
      store,
      cluster,
      memory: this.#memory,
      liveness: this.#options.liveness,
      networkCount: this.#options.addressPool.networkCount,
      baseHeartbeatIntervalMs: this.#baseHeartbeatIntervalMs,
      addressHoldMs: this.#options.addressHoldMs ?? DEFAULT_TTL_SECONDS * 1000,
      specOf: (service, revision) => this.#specOf(service, revision),
      sendingEndpoints: (nodeId) => this.#outbox.has(nodeId),
      ...(this.#options.pullParallelism !== undefined
        ? { pullParallelism: this.#options.pullParallelism }
        : {}),
      images: this.#options.images,
    });
    const at = now();
    const planStart = performance.now();
    const plan = planPass(snapshot, at, this.#options.newTaskId ?? (() => randomUUID().replaceAll('-', '')));
    const planEnd = performance.now();
    const targets = {
      store,
      cluster,
      events,
      networkCount: this.#options.addressPool.networkCount,
      secrets: this.#options.secrets,
      registries: this.#options.registries,
      outbox: this.#outbox,
    };
    return { plan, at, targets, readMs: planStart - readStart, planMs: planEnd - planStart };
  }

  #wake(finished: number): void {
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.passes <= finished);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.passes > finished);
    for (const waiter of ready) waiter.resolve();
  }

  /**
   * A service created anew under a deleted one's name numbers its revisions from 1 again: the
   * cached specs of the old incarnation must go before they are taken for the new one's.
   */
  forgetService(name: string): void {
    for (const key of this.#revisionSpecs.keys()) {
      if (key.startsWith(`${name}\u0000`)) this.#revisionSpecs.delete(key);
    }
  }

  /**
   * Another server wrote to the store (HA): a service it deleted and created again under the same
   * name numbers its revisions from 1 again, and this cache cannot tell, so it starts over.
   */
  forgetSpecs(): void {
    this.#revisionSpecs.clear();
  }

  /** Revision specs never change once written (a service deleted and created again aside). */
  specOf(service: string, revision: number): ServiceSpec | undefined {
    return this.#specOf(service, revision);
  }

  #specOf(service: string, revision: number): ServiceSpec | undefined {
    const key = specKey(service, revision);
    let spec = this.#revisionSpecs.get(key);
    if (!spec) {
      spec = this.#options.store.getRevision(service, revision);
      if (spec) this.#revisionSpecs.set(key, spec);
    }
    return spec;
  }

  /** Takes an agent's report: observed state of its tasks, and the events it recorded. */
  applyReport(nodeId: string, report: Report): void {
    const { store, events } = this.#options;
    store.transaction(() => {
      const mine = new Map(store.tasksOnNode(nodeId).map((t) => [t.id, t]));
      const seen = new Set<string>();
      for (const observation of report.tasks) {
        seen.add(observation.task_id);
        const task = mine.get(observation.task_id);
        if (task && !sameObservation(task.observed, observation)) store.setObserved(task.id, observation);
      }
      const gone = report.full
        ? [...mine.values()].filter((t) => !seen.has(t.id)).map((t) => t.id)
        : report.removed;
      for (const id of gone) if (mine.get(id)?.observed) store.setObserved(id, null);
      for (const event of report.events) {
        const { at, ...input } = event;
        events.append({ ...input, node: nodeId }, at);
      }
    });
    this.#dirty = true;
    this.#schedule(REPORT_PASS_PACE);
  }
}

function freshMemory(now: number): PassMemory {
  return {
    failures: new Map(),
    releases: new Map(),
    // Generations only grow, across server restarts and leader changes too (they start at now).
    assignGeneration: now,
    endpointsGeneration: now,
    endpoints: undefined,
    endpointsPublishedAt: 0,
  };
}

/** Field by field: most reports change a scalar, and two JSON texts per observation cost more. */
function sameObservation(a: TaskObservation | null, b: TaskObservation): boolean {
  if (a === null) return false;
  const scalars = Object.keys(b) as (keyof TaskObservation)[];
  if (Object.keys(a).length !== scalars.length) return false;
  for (const key of scalars) if (key !== 'ports' && a[key] !== b[key]) return false;
  return JSON.stringify(a.ports) === JSON.stringify(b.ports);
}
