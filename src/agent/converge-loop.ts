/**
 * The loop around the converger: observe the engine (list by label), plan, run the actions
 * concurrently (one per task at a time, a bounded number at once), report what changed, repeat.
 * Triggered by assignments, engine events (a crash is seen the moment the engine reports it),
 * finished actions and backoff timers; a periodic resync catches anything missed.
 *
 * What an operation did comes back to the converger as an outcome on the next pass; the loop
 * never writes the per-task memory. Waiting for a container to stop (drain, then its grace
 * period) holds no slot of the engine semaphore, so creates and starts never queue behind it.
 */

import { containerDefinition } from '../docker/container-definition.ts';
import type { ContainerEngine, EngineEvent, ManagedContainer } from '../docker/container-engine.ts';
import { EngineError } from '../docker/container-engine.ts';
import type { HealthState, ProbeResult } from '../health/health-tracker.ts';
import { INITIAL_HEALTH, trackHealth } from '../health/health-tracker.ts';
import type { ProbeTarget } from '../health/probe.ts';
import { Prober } from '../health/prober.ts';
import type { AgentTally } from '../metrics/agent-counters.ts';
import { replicaTally } from '../metrics/replica-tally.ts';
import type { AddressPool } from '../model/addressing.ts';
import { parseDurationMs, timerDelayMs } from '../model/duration.ts';
import type { EventInput } from '../model/event.ts';
import { slotName } from '../model/names.ts';
import type { TaskObservation } from '../model/task.ts';
import { hasSingleWriterVolume, replicaVolumes } from '../model/volume-spec.ts';
import { assertAdmittedOnAgent } from '../policy/agent-admission.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import type { ReportedVolume } from '../protocol/volume-messages.ts';
import { CoalescedRun } from './coalesced-run.ts';
import { containerLabel } from './container-label.ts';
import type { Action, Outcome, TaskRuntime } from './converger.ts';
import { converge } from './converger.ts';
import { DEFAULT_PULL_CONCURRENCY, DEFAULT_PULL_TIMEOUT_MS, ImagePuller } from './image-puller.ts';
import { unusedNetworks } from './network-sweep.ts';
import type { Operation } from './observation.ts';
import { observe } from './observation.ts';
import { visibleToConverger } from './prepared-plan.ts';
import { explainPullFailure, needsPull } from './pull-policy.ts';
import type { ReportedDeath } from './reported-deaths.ts';
import { withDeaths } from './reported-deaths.ts';
import { restoredStarts } from './restored-hold.ts';
import { SecretFileWriter } from './secret-files.ts';
import { Semaphore } from './semaphore.ts';

export interface LoopReport {
  readonly full: boolean;
  readonly tasks: TaskObservation[];
  readonly removed: string[];
  readonly events: (EventInput & { at: number })[];
}

/** How often an idle loop looks again for networks to remove when nothing changed. */
const NETWORK_SWEEP_INTERVAL_MS = 30_000;

export interface PublishedHostPort {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

export interface ConvergeLoopOptions {
  readonly engine: ContainerEngine;
  readonly clusterId: string;
  /** The cluster's address pool, where its networks' subnets are. */
  readonly pool: AddressPool;
  readonly nodeId: string;
  /** Engine operations allowed at once. */
  readonly concurrency: number;
  readonly resyncIntervalMs: number;
  /**
   * Networks other parts of the agent keep on this host (the data plane's, whose bridges hold
   * VIPs), by Docker name; undefined while they are not known yet, which holds off any removal.
   */
  readonly networksInUse?: () => readonly string[] | undefined;
  readonly stableAfterMs: number;
  readonly now: () => number;
  readonly onReport: (report: LoopReport) => void;
  readonly onError: (error: unknown) => void;
  /** Where secret and config files are written (a tmpfs; default /run/skiff/secrets). */
  readonly secretsDir?: string;
  /** The node's cluster address, where replica ports are published for other nodes (publish-address.ts). */
  readonly publishAddress?: string;
  /**
   * The host ports the engine published for this cluster's containers, whenever the set changes
   * (the data plane guards them: net/data-plane/netfilter-rules.ts, PEERS).
   */
  readonly onPublishedPorts?: (ports: readonly PublishedHostPort[]) => void;
  /** Set when this host cannot give replicas secret files (a remote engine): tasks using them fail with it. */
  readonly secretsRefusal?: string;
  /** Counts exits, restarts, OOM kills, probes and pulls for the server's metrics. */
  readonly tally?: AgentTally;
  /** Image pulls allowed at once on this node (agent `--pull-concurrency`, default 3). */
  readonly pullConcurrency?: number;
  /** A pull still running after this long is cancelled and fails the task (agent `--pull-timeout`, default 5m). */
  readonly pullTimeoutMs?: number;
  /** The cluster's volumes on this engine and who uses them, whenever that changes (volume-messages.ts). */
  readonly onVolumes?: (volumes: readonly ReportedVolume[]) => void;
  /**
   * Tasks whose container another part of the agent is making (a prepared replica's create in
   * flight, prepared-replicas.ts): the converger waits for it rather than make a second one.
   */
  readonly creatingElsewhere?: () => Iterable<string>;
  /**
   * The created, never started container another part of the agent holds for a task (a prepared
   * replica, prepared-replicas.ts), if any: a task assigned here with one is started at once.
   */
  readonly preparedContainer?: (taskId: string) => string | undefined;
}

/** How often an idle loop lists the engine's volumes again when nothing changed. */
const VOLUME_SYNC_INTERVAL_MS = 30_000;

/**
 * Stops waiting at once. A stop is one open request that the engine answers when the container
 * has exited (up to its grace period): cheap to hold, so bounded only well above any node's
 * replica count, apart from the semaphore that creates and starts need.
 */
const STOPS_AT_ONCE = 256;

export class ConvergeLoop {
  readonly #options: ConvergeLoopOptions;
  /** Creates and starts (a replacement's removal of its predecessor too), a bounded number at once. */
  readonly #semaphore: Semaphore;
  readonly #stops = new Semaphore(STOPS_AT_ONCE);
  /**
   * Removals of stopped containers, bounded like creates but apart from them: a hundred removals
   * after a mass stop must not queue a failover's start behind them.
   */
  readonly #removals: Semaphore;
  /** What finished operations did, for the converger's next pass. */
  #outcomes: Outcome[] = [];
  /** Images known to be present, so the hot path of a replacement skips the check. */
  readonly #images = new Set<string>();
  /** Each image's `EXPOSE` ports, asked once (a replacement's hot path); forgotten with the image. */
  readonly #imagePorts = new Map<string, string[]>();
  #desired: TaskSpec[] = [];
  #desiredText = '';
  #warm = false;
  /** When the desired set was restored from disk (not yet from the server), and for how long its starts wait. */
  #restoredAt: number | undefined;
  #restoredHoldMs = 0;
  #containers: ManagedContainer[] = [];
  #publishedPortsText = '';
  #runtime = new Map<string, TaskRuntime>();
  /** Tasks the converger holds back, with why (a single-writer volume still in use). */
  #waiting: ReadonlyMap<string, string> = new Map();
  /** Operations in flight, by task id and by container id. */
  readonly #operations = new Map<string, Operation>();
  readonly #reported = new Map<string, string>();
  #events: (EventInput & { at: number })[] = [];
  /** Containers the engine reported dead (by id), believed over a list that has not caught up. */
  readonly #deaths = new Map<string, ReportedDeath>();
  /** The last spec seen for each task, kept past its removal from the desired set (drain timeout). */
  readonly #lastSpecs = new Map<string, TaskSpec>();
  /** Tracked health by container id, for replicas whose service has a check. */
  readonly #health = new Map<string, HealthState>();
  readonly #prober: Prober;
  readonly #puller: ImagePuller;
  readonly #secretFiles: SecretFileWriter;
  readonly #runs = new CoalescedRun(
    () => this.#pass(),
    (error) => this.#options.onError(error),
    () => this.#stopped,
  );
  /** When networks were last swept (network-sweep.ts), and whether the desired set changed since. */
  #sweptAt = Number.NEGATIVE_INFINITY;
  #sweepWanted = true;
  /** When volumes were last listed; whether something changed since (a create, a usage, a removal asked). */
  #volumesSyncedAt = Number.NEGATIVE_INFINITY;
  #volumesChanged = true;
  #volumeUsageText = '';
  #volumesText: string | undefined;
  #volumes: readonly ReportedVolume[] = [];
  /** Volumes the server asked to remove, removed once no container has them. */
  readonly #volumeRemovals = new Set<string>();
  #stopped = false;
  #wakeTimer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  readonly #abort = new AbortController();

  constructor(options: ConvergeLoopOptions) {
    this.#options = options;
    this.#secretFiles = new SecretFileWriter(options.secretsDir, options.secretsRefusal);
    this.#semaphore = new Semaphore(options.concurrency);
    this.#removals = new Semaphore(options.concurrency);
    this.#puller = new ImagePuller({
      engine: options.engine,
      concurrency: options.pullConcurrency ?? DEFAULT_PULL_CONCURRENCY,
      timeoutMs: options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS,
    });
    this.#prober = new Prober({
      engine: options.engine,
      now: options.now,
      onResult: (containerId, result, durationMs) => this.#onProbe(containerId, result, durationMs),
    });
  }

  start(): void {
    this.#resyncTimer = setInterval(() => this.trigger(), this.#options.resyncIntervalMs);
    void this.#watchEngine();
    this.trigger();
  }

  stop(): void {
    this.#stopped = true;
    this.#abort.abort();
    this.#prober.stop();
    clearInterval(this.#resyncTimer);
    clearTimeout(this.#wakeTimer);
  }

  /**
   * The desired set; `fromServer` is false for an assignment restored from disk, whose replicas
   * that do not run wait `holdStartsForMs` for the server's own (restored-hold.ts).
   */
  setDesired(
    tasks: readonly TaskSpec[],
    options: { readonly fromServer: true } | { readonly fromServer: false; readonly holdStartsForMs: number },
  ): void {
    // The server resends the whole set whenever anything of the node changes (a replica it was
    // told about starting, say): the same set again is no news, and a pass now would only put a
    // list beside the start in flight.
    const text = JSON.stringify(tasks);
    const news = text !== this.#desiredText || (options.fromServer && !this.#warm);
    this.#desired = [...tasks];
    this.#desiredText = text;
    for (const task of tasks) this.#lastSpecs.set(task.task_id, task);
    this.#options.tally?.setServices(
      tasks.map((t) => ({ service: t.service, probed: t.spec.health_check !== undefined })),
    );
    if (options.fromServer) this.#warm = true;
    else if (!this.#warm) {
      this.#restoredAt = this.#options.now();
      this.#restoredHoldMs = options.holdStartsForMs;
    }
    if (news) this.#sweepWanted = true;
    if (news && options.fromServer) {
      const prepared = this.#options.preparedContainer;
      for (const task of prepared ? tasks : []) {
        const containerId = prepared?.(task.task_id);
        if (containerId !== undefined) this.#startPrepared(task, containerId);
      }
    }
    if (news) this.trigger();
  }

  /**
   * A prepared create (prepared-replicas.ts) ended for a task assigned here meanwhile: the task's
   * container, started now if it was made, and a pass either way.
   */
  preparedCreated(taskId: string, containerId: string | undefined): void {
    const task = this.#desired.find((t) => t.task_id === taskId);
    if (task && containerId !== undefined) this.#startPrepared(task, containerId);
    this.trigger();
  }

  /**
   * Starts a task's prepared container without waiting for the next list: a failover waits for
   * exactly these starts, and a list on a busy host takes 10-80 ms (then another after each
   * prepared create still in flight). Only for a task with nothing in flight and no container of
   * its own; a pass meanwhile finds it busy, and its outcome is folded in as any start's. A
   * container gone meanwhile answers 404, taken as a conflict: the next pass looks again.
   */
  #startPrepared(task: TaskSpec, containerId: string): void {
    if (this.#stopped || this.#operations.has(task.task_id) || this.#operations.has(containerId)) return;
    const current = this.#runtime.get(task.task_id)?.current ?? null;
    if (current !== null && current !== containerId) return;
    if (this.#containers.some((c) => c.taskId === task.task_id && c.id !== containerId)) return;
    this.#launch({ kind: 'start', task, containerId });
  }

  /**
   * The images the desired tasks (and tasks still draining) run, which image GC keeps; undefined
   * until a desired set is known (from the server or disk): nothing is collected on a cold start.
   */
  desiredImages(): string[] | undefined {
    if (this.#desiredText === '') return undefined;
    return [...new Set([...this.#lastSpecs.values()].map((task) => task.spec.image))];
  }

  /** Images were removed (image GC): what is present is asked of the engine again. */
  forgetPresentImages(): void {
    this.#images.clear();
  }

  /** The tasks assigned to this node (restored from disk, or as the server last said). */
  assignedTaskIds(): ReadonlySet<string> {
    return new Set(this.#desired.map((t) => t.task_id));
  }

  /** The container that currently serves a task, for logs. */
  containerOf(taskId: string): ManagedContainer | undefined {
    const current = this.#runtime.get(taskId)?.current;
    return (
      this.#containers.find((c) => c.id === current) ??
      this.#containers.find((c) => c.taskId === taskId && c.state === 'running') ??
      this.#containers.find((c) => c.taskId === taskId)
    );
  }

  /** The running containers of this cluster as the last list saw them (what the stats sampler reads). */
  runningContainers(): ManagedContainer[] {
    return this.#containers.filter((c) => c.state === 'running');
  }

  /** Everything the agent knows, for a (re)connected server. */
  fullReport(): LoopReport {
    this.#reported.clear();
    const report = this.#diff(true);
    return report;
  }

  trigger(): void {
    this.#runs.trigger();
  }

  async #pass(): Promise<void> {
    // An operation that ends while the list is in flight leaves the list stale for its task, so
    // what was busy when listing began stays busy for this pass.
    const busy = new Set([...this.#operations.keys(), ...(this.#options.creatingElsewhere?.() ?? [])]);
    // How a container being removed ended is asked of no one: its task is gone or has a successor.
    const removing = new Set([...this.#operations].filter(([, op]) => op === 'remove').map(([key]) => key));
    // Prepared replicas (prepared-replicas.ts) are seen only once their task is assigned here.
    this.#containers = visibleToConverger(
      withDeaths(
        await this.#options.engine.listManaged(this.#options.clusterId, { withoutDetails: removing }),
        this.#deaths,
      ),
      this.assignedTaskIds(),
    );
    for (const key of this.#operations.keys()) busy.add(key);
    this.#tellPublishedPorts();
    const known = new Set([...this.#desired.map((t) => t.task_id), ...this.#containers.map((c) => c.taskId)]);
    for (const taskId of this.#lastSpecs.keys()) if (!known.has(taskId)) this.#lastSpecs.delete(taskId);
    const now = this.#options.now();
    const unhealthy = new Set(
      [...this.#health].filter(([, h]) => h.status === 'unhealthy').map(([id]) => id),
    );
    const plan = converge({
      desired: this.#desired,
      warm: this.#warm,
      containers: this.#containers,
      runtime: this.#runtime,
      outcomes: this.#outcomes.splice(0),
      busy,
      unhealthy,
      now,
      stableAfterMs: this.#options.stableAfterMs,
      startsHeldUntil: this.#startsHeldUntil(now),
    });
    this.#countPass(this.#runtime, plan.runtime, plan.actions, unhealthy);
    this.#runtime = plan.runtime;
    this.#waiting = plan.waiting;
    for (const event of plan.events) this.#record(event);
    for (const action of plan.actions) this.#launch(action);
    this.#syncProbes();
    clearTimeout(this.#wakeTimer);
    if (plan.wakeAt !== null) {
      this.#wakeTimer = setTimeout(() => this.trigger(), timerDelayMs(plan.wakeAt - now));
    }
    this.#publish();
    if (plan.actions.length === 0) await this.#sweepNetworks(now);
    await this.#syncVolumes(now);
  }

  /** Until when a restored assignment's starts wait for the server (restored-hold.ts); undefined: they do not. */
  #startsHeldUntil(now: number): number | undefined {
    const starts = restoredStarts({
      serverAnswered: this.#warm,
      restoredAt: this.#restoredAt,
      holdMs: this.#restoredHoldMs,
      now,
    });
    return starts.kind === 'held' ? starts.untilMs : undefined;
  }

  /** Volumes the server wants gone: removed when no container of ours (or anyone's) has them. */
  removeVolumes(names: readonly string[]): void {
    for (const name of names) this.#volumeRemovals.add(name);
    this.#volumesChanged = true;
    this.trigger();
  }

  /** The last volume list, to send again after a reconnect. */
  get volumes(): readonly ReportedVolume[] | undefined {
    return this.#volumesText === undefined ? undefined : this.#volumes;
  }

  /**
   * Lists the cluster's volumes when something may have changed (a create, a container's usage, a
   * removal asked, or every VOLUME_SYNC_INTERVAL_MS), removes those asked for that nothing uses,
   * and reports the list when it changed. Never on a cold cache: removal waits for the server.
   */
  async #syncVolumes(now: number): Promise<void> {
    if (!this.#options.onVolumes) return;
    const usage = this.#containers
      .filter((c) => (c.volumes ?? []).length > 0)
      .map((c) => `${c.taskId}=${(c.volumes ?? []).map((v) => v.name).join('+')}`)
      .sort()
      .join(',');
    if (usage !== this.#volumeUsageText) this.#volumesChanged = true;
    this.#volumeUsageText = usage;
    if (!this.#volumesChanged && now - this.#volumesSyncedAt < VOLUME_SYNC_INTERVAL_MS) return;
    this.#volumesChanged = false;
    this.#volumesSyncedAt = now;
    const { engine, clusterId } = this.#options;
    try {
      let volumes = await engine.listVolumes(clusterId);
      if (this.#warm && this.#volumeRemovals.size > 0) {
        const present = new Set(volumes.map((v) => v.name));
        const removed = new Set<string>();
        for (const name of [...this.#volumeRemovals]) {
          if (!present.has(name)) {
            this.#volumeRemovals.delete(name);
            continue;
          }
          if (this.#containers.some((c) => c.volumes?.some((v) => v.name === name))) continue;
          if (await engine.removeVolume(name)) {
            this.#volumeRemovals.delete(name);
            removed.add(name);
            this.#record({
              type: 'volume',
              service: null,
              container: null,
              message: `Volume ${name} removed`,
            });
          }
        }
        volumes = volumes.filter((v) => !removed.has(v.name));
        // Still wanted gone but in use: look again soon rather than after the idle interval.
        if (this.#volumeRemovals.size > 0) this.#volumesChanged = true;
      }
      const list = volumes
        .map((v) => ({
          name: v.name,
          service: v.service,
          slot: v.slot,
          created_at: v.createdAt,
          used_by: this.#containers
            .filter((c) => c.volumes?.some((m) => m.name === v.name))
            .map((c) => c.taskId)
            .sort(),
        }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const text = JSON.stringify(list);
      if (text === this.#volumesText) return;
      this.#volumesText = text;
      this.#volumes = list;
      this.#options.onVolumes(list);
    } catch (error) {
      this.#volumesChanged = true;
      this.#options.onError(error);
    }
  }

  /**
   * Removes the cluster's networks no desired task uses, when the loop is idle (nothing in flight
   * could be about to use one) and has heard from the server (never on a cold cache): soon after
   * the desired set changes, and now and then in case a removal was refused while a replica stopped.
   */
  async #sweepNetworks(now: number): Promise<void> {
    if (!this.#warm || this.#operations.size > 0) return;
    if (!this.#sweepWanted && now - this.#sweptAt < NETWORK_SWEEP_INTERVAL_MS) return;
    this.#sweepWanted = false;
    this.#sweptAt = now;
    const { engine, clusterId } = this.#options;
    const others = this.#options.networksInUse ? this.#options.networksInUse() : [];
    if (others === undefined) return;
    try {
      const unused = unusedNetworks(await engine.listNetworks(clusterId), this.#desired, clusterId);
      for (const name of unused.filter((n) => !others.includes(n))) {
        if (this.#operations.size > 0 || this.#runs.pending) {
          this.#sweepWanted = true;
          return;
        }
        // Refused while a container is still on it (one stopping, or not ours): try again soon.
        if (!(await engine.removeNetwork(name))) this.#sweepWanted = true;
      }
    } catch (error) {
      this.#options.onError(error);
    }
  }

  #countPass(
    before: ReadonlyMap<string, TaskRuntime>,
    after: ReadonlyMap<string, TaskRuntime>,
    actions: readonly Action[],
    unhealthy: ReadonlySet<string>,
  ): void {
    const tally = this.#options.tally;
    if (!tally) return;
    const services = new Map(this.#desired.map((t) => [t.task_id, t.service]));
    const counted = replicaTally({ before, after, actions, unhealthy, serviceOf: (id) => services.get(id) });
    for (const exit of counted.exits) tally.count('exits', exit.service, exit.reason);
    for (const restart of counted.restarts) tally.count('restarts', restart.service, restart.reason);
  }

  /** Probes every running replica whose service has a check; forgets the health of the gone. */
  #syncProbes(): void {
    const targets: ProbeTarget[] = [];
    for (const task of this.#desired) {
      const check = task.spec.health_check;
      const container = this.containerOf(task.task_id);
      if (!check || container?.state !== 'running') continue;
      targets.push({ containerId: container.id, ip: container.ip, check });
    }
    this.#prober.sync(targets);
    const live = new Set(targets.map((t) => t.containerId));
    for (const id of this.#health.keys()) if (!live.has(id)) this.#health.delete(id);
  }

  #onProbe(containerId: string, result: ProbeResult, durationMs: number): void {
    const container = this.#containers.find((c) => c.id === containerId);
    const task = this.#desired.find((t) => t.task_id === container?.taskId);
    const check = task?.spec.health_check;
    if (!container || !task || !check) return;
    this.#options.tally?.count('probes', task.service, result.ok ? 'success' : 'failure');
    this.#options.tally?.observe('probeDuration', task.service, durationMs / 1000);
    const now = this.#options.now();
    const tracked = trackHealth(
      this.#health.get(containerId) ?? INITIAL_HEALTH,
      result,
      { retries: check.retries, startPeriodMs: parseDurationMs(check.start_period) ?? 0 },
      this.#runtime.get(task.task_id)?.runningSince ?? now,
      now,
    );
    this.#health.set(containerId, tracked.state);
    if (tracked.transition === null) return;
    const name = slotName(task.service, task.slot);
    const who = containerLabel(name, containerId);
    const message =
      tracked.transition === 'unhealthy' ? `${who} failed health check` : `${who} ${tracked.transition}`;
    this.#record({ type: 'health_check', service: task.service, container: name, message });
    // Unhealthy needs a decision (replace); healthy only needs reporting.
    if (tracked.transition === 'unhealthy') this.trigger();
    else this.#publish();
  }

  #launch(action: Action): void {
    const keys = action.kind === 'remove' ? [action.containerId] : [action.task.task_id];
    if (action.kind === 'replace' || action.kind === 'start') keys.push(action.containerId);
    const operation: Operation = action.kind;
    for (const key of keys) this.#operations.set(key, operation);
    const held = new Set(keys);
    // An operation may let go of a key before it ends (a replacement's task, once the new
    // container runs); a key let go of may already belong to the next operation.
    const release = (key: string) => {
      if (held.delete(key)) this.#operations.delete(key);
    };
    const done =
      action.kind === 'remove'
        ? this.#remove(action)
        : this.#semaphore.run(() => this.#perform(action, release));
    void done
      .catch((error: unknown) => this.#options.onError(error))
      .finally(() => {
        for (const key of held) this.#operations.delete(key);
        this.trigger();
      });
  }

  /**
   * Drain, stop, remove. Before a replica is stopped the server has already taken it out of the
   * rotation, and in-flight requests get the drain timeout to finish before SIGTERM (a container
   * that is not running has nothing to drain). The drain and the stop's grace period are waits,
   * outside the engine semaphore; the removal takes a slot of its own bound.
   */
  async #remove(action: Extract<Action, { kind: 'remove' }>): Promise<void> {
    const { engine } = this.#options;
    const last = this.#lastSpecs.get(action.taskId);
    const container = this.#containers.find((c) => c.id === action.containerId);
    const drainMs = parseDurationMs(last?.spec.update.drain_timeout ?? '0s') ?? 0;
    if (drainMs > 0 && container?.state === 'running')
      await new Promise((done) => setTimeout(done, timerDelayMs(drainMs)));
    await this.#stops.run(() => engine.stopContainer(action.containerId));
    await this.#removals.run(() => engine.removeContainer(action.containerId));
    this.#record({
      type: 'container',
      service: action.service,
      container: action.name,
      message: `${containerLabel(action.name, action.containerId)} stopped`,
    });
    // A predecessor of a task still desired leaves the task's spec and files (its successor's) in place.
    if (!this.#desired.some((t) => t.task_id === action.taskId)) {
      this.#lastSpecs.delete(action.taskId);
      this.#secretFiles.release(action.taskId);
    }
  }

  async #perform(action: Exclude<Action, { kind: 'remove' }>, release: (key: string) => void): Promise<void> {
    const { engine } = this.#options;
    const task = action.task;
    const name = slotName(task.service, task.slot);
    try {
      let id: string;
      if (action.kind === 'start') {
        id = action.containerId;
        await engine.startContainer(id);
      } else {
        if (action.kind === 'replace') {
          this.#record({
            type: 'restart',
            service: task.service,
            container: name,
            message: `Restarting ${name} (${action.containerId.slice(0, 12)})...`,
          });
        }
        // The agent's own check: a server that is buggy (or not ours) cannot start what the policy refuses.
        assertAdmittedOnAgent(task);
        await this.#ensureImage(task);
        // What the image declares is reachable by the service's name too (host mode publishes nothing).
        const imagePorts = task.spec.network_mode === 'host' ? [] : await this.#exposedPorts(task.spec.image);
        this.#operations.set(task.task_id, 'create');
        // A single-writer volume is never mounted by two containers at once: an unhealthy
        // predecessor stops before its replacement is created (a crashed one has already).
        if (action.kind === 'replace' && hasSingleWriterVolume(task.spec))
          await this.#stops.run(() => engine.stopContainer(action.containerId));
        await this.#ensureVolumes(task);
        const binds = this.#secretFiles.prepare(task);
        const definition = containerDefinition(
          task,
          { clusterId: this.#options.clusterId, pool: this.#options.pool },
          action.attempt,
          binds,
          this.#options.publishAddress,
          imagePorts,
        );
        for (const network of definition.networks) await engine.ensureNetwork(network);
        id = await engine.createContainer(definition);
        await engine.startContainer(id);
      }
      this.#outcomes.push({ kind: 'ran', taskId: task.task_id, containerId: id });
      this.#record({
        type: 'container',
        service: task.service,
        container: name,
        message: `${containerLabel(name, id)} started`,
      });
    } catch (error) {
      if (action.kind !== 'start') {
        this.#images.delete(task.spec.image);
        this.#imagePorts.delete(task.spec.image);
      }
      // A name conflict means the engine already has this task's container: the next pass adopts
      // it. A start of a container that is gone (removed meanwhile) means the same: look again.
      if (
        error instanceof EngineError &&
        (error.status === 409 || (action.kind === 'start' && error.status === 404))
      ) {
        this.#outcomes.push({ kind: 'conflict', taskId: task.task_id });
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      const previous = this.#runtime.get(task.task_id)?.lastError;
      this.#outcomes.push({ kind: 'failed', taskId: task.task_id, error: message, at: this.#options.now() });
      // One event per distinct failure, not one per retry.
      if (previous !== message) {
        const type = message.startsWith('pull ') ? 'image' : 'container';
        this.#record({
          type,
          service: task.service,
          container: name,
          message: `Failed to start ${name}: ${message}`,
        });
      }
      return;
    }
    if (action.kind === 'replace') {
      // The replacement runs: report it now, and remove its predecessor off the recovery path. The
      // predecessor stays busy meanwhile, so no pass removes it twice; if this fails, a later pass
      // removes it as any predecessor.
      release(task.task_id);
      this.trigger();
      await engine.removeContainer(action.containerId);
    }
  }

  async #exposedPorts(image: string): Promise<string[]> {
    const known = this.#imagePorts.get(image);
    if (known) return known;
    const ports = await this.#options.engine.imageExposedPorts(image);
    this.#imagePorts.set(image, ports);
    return ports;
  }

  /** The task's named volumes, created (labelled as the cluster's) where missing. */
  async #ensureVolumes(task: TaskSpec): Promise<void> {
    const { engine, clusterId } = this.#options;
    const sources = new Map(
      (task.spec.volumes ?? []).flatMap((m) =>
        m.type === 'volume' && m.source ? [[m.target, m.source]] : [],
      ),
    );
    for (const volume of replicaVolumes(task.spec, task.slot)) {
      const made = await engine.ensureVolume({
        name: volume.name,
        clusterId,
        service: task.service,
        slot: task.slot,
        source: sources.get(volume.target) ?? volume.name,
      });
      if (made)
        this.#record({
          type: 'volume',
          service: task.service,
          container: slotName(task.service, task.slot),
          message: `Volume ${volume.name} created for ${slotName(task.service, task.slot)}`,
        });
    }
    if (replicaVolumes(task.spec, task.slot).length > 0) this.#volumesChanged = true;
  }

  async #ensureImage(task: TaskSpec): Promise<void> {
    const { engine } = this.#options;
    const reference = task.spec.image;
    // Present locally means no pull (pull-policy.ts), unless the service asks for a tag to be
    // checked every time (`pull: always`). Once seen present it is not asked again (a
    // replacement's hot path); a create that then fails forgets it.
    const always = needsPull({ reference, policy: task.spec.pull, present: true });
    if (!always) {
      if (this.#images.has(reference)) return;
      if (await engine.hasImage(reference)) {
        this.#images.add(reference);
        return;
      }
    }
    this.#operations.set(task.task_id, 'pull');
    this.#publish();
    this.#record({
      type: 'image',
      service: task.service,
      container: null,
      message: `Pulling image ${reference}`,
    });
    const pullStartedAt = performance.now();
    const pulled = (result: 'success' | 'failure') => {
      this.#options.tally?.count('pulls', task.service, result);
      this.#options.tally?.observe('pullDuration', task.service, (performance.now() - pullStartedAt) / 1000);
    };
    try {
      await this.#puller.pull(reference, task.registry_auth);
    } catch (error) {
      pulled('failure');
      if (!(error instanceof EngineError)) throw error;
      throw new EngineError(
        explainPullFailure(error.message, {
          reference,
          withCredential: task.registry_auth !== undefined,
          timeoutMs: this.#puller.timeoutMs,
        }),
        error.status,
        { cause: error },
      );
    }
    pulled('success');
    this.#images.add(reference);
    this.#record({
      type: 'image',
      service: task.service,
      container: null,
      message: `Pulled image ${reference}`,
    });
  }

  #tellPublishedPorts(): void {
    const ports = new Map<string, PublishedHostPort>();
    for (const container of this.#containers)
      for (const p of container.ports)
        ports.set(`${p.host_port}/${p.protocol}`, { port: p.host_port, protocol: p.protocol });
    const list = [...ports.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
    const text = JSON.stringify(list);
    if (text === this.#publishedPortsText) return;
    this.#publishedPortsText = text;
    this.#options.onPublishedPorts?.(list);
  }

  /** An event from elsewhere in the agent (its data plane), reported with the loop's own. */
  recordEvent(event: Omit<EventInput, 'node'>): void {
    this.#record(event);
    this.#publish();
  }

  #record(event: Omit<EventInput, 'node'>): void {
    this.#events.push({ ...event, node: this.#options.nodeId, at: this.#options.now() });
  }

  #publish(): void {
    const report = this.#diff(false);
    if (report.tasks.length > 0 || report.removed.length > 0 || report.events.length > 0) {
      this.#options.onReport(report);
    }
  }

  #diff(full: boolean): LoopReport {
    const desired = new Map(this.#desired.map((t) => [t.task_id, t]));
    const taskIds = new Set([...desired.keys(), ...this.#containers.map((c) => c.taskId)]);
    const tasks: TaskObservation[] = [];
    for (const taskId of taskIds) {
      const container = this.containerOf(taskId);
      const observation = observe({
        taskId,
        task: desired.get(taskId),
        container,
        memory: this.#runtime.get(taskId),
        operation:
          this.#operations.get(taskId) ?? (container ? this.#operations.get(container.id) : undefined),
        health: healthOf(container ? this.#health.get(container.id) : undefined),
        waiting: this.#waiting.get(taskId),
      });
      const text = JSON.stringify(observation);
      if (full || this.#reported.get(taskId) !== text) tasks.push(observation);
      this.#reported.set(taskId, text);
    }
    const removed = [...this.#reported.keys()].filter((id) => !taskIds.has(id));
    for (const id of removed) this.#reported.delete(id);
    const events = this.#events;
    this.#events = [];
    return { full, tasks, removed, events };
  }

  /**
   * The engine sends `die` before its container list says so: a list made right after the event
   * can still show the container running, and nothing would look again until the resync. So a
   * death the engine reported is remembered and believed until the container is gone or starts.
   */
  #onEngineEvent(event: EngineEvent): void {
    const known = this.#deaths.get(event.containerId);
    if (event.action === 'die') {
      this.#deaths.set(event.containerId, {
        died: true,
        exitCode: event.exitCode,
        oomKilled: known?.oomKilled ?? false,
      });
    } else if (event.action === 'oom') {
      const service = this.#containers.find((c) => c.id === event.containerId)?.service;
      if (service !== undefined) this.#options.tally?.count('oomKills', service);
      this.#deaths.set(event.containerId, {
        died: known?.died ?? false,
        exitCode: known?.exitCode ?? null,
        oomKilled: true,
      });
    } else if (event.action === 'start' || event.action === 'destroy') {
      this.#deaths.delete(event.containerId);
    }
    // The creates, starts and removals of this agent's own operations are no news: the operation
    // triggers a pass when it ends. A list now would only compete with the start it waits for.
    // Nor is the death of a container this agent is removing: after a mass removal a hundred
    // deaths would each ask for a list (and inspects) of an engine busy tearing them down.
    const removing = this.#operations.get(event.containerId) === 'remove';
    const ours =
      removing ||
      (event.action !== 'die' &&
        event.action !== 'oom' &&
        (this.#operations.has(event.containerId) ||
          (event.taskId !== undefined && this.#operations.has(event.taskId))));
    if (!ours) this.trigger();
  }

  async #watchEngine(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#options.engine.watchEvents(
          this.#options.clusterId,
          (event) => this.#onEngineEvent(event),
          this.#abort.signal,
        );
      } catch (error) {
        if (!this.#stopped) this.#options.onError(error);
      }
      if (this.#stopped) return;
      // The stream ended (engine restart?): resync, then watch again shortly.
      this.trigger();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

function healthOf(
  state: HealthState | undefined,
): { status: HealthState['status']; message: string | null; healthySince: number | null } | undefined {
  return state
    ? { status: state.status, message: state.lastMessage, healthySince: state.healthySince }
    : undefined;
}
