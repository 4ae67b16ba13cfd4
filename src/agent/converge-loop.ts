/**
 * The loop around the converger: observe the engine (list by label), plan, run the actions
 * concurrently (one per task at a time, a bounded number at once), report what changed, repeat.
 * Triggered by assignments, engine events (a crash is seen the moment the engine reports it),
 * finished actions and backoff timers; a periodic resync catches anything missed.
 */

import { containerDefinition } from '../docker/container-definition.ts';
import type { ContainerEngine, EngineEvent, ManagedContainer } from '../docker/container-engine.ts';
import { EngineError } from '../docker/container-engine.ts';
import type { HealthState, ProbeResult } from '../health/health-tracker.ts';
import { INITIAL_HEALTH, trackHealth } from '../health/health-tracker.ts';
import type { ProbeTarget } from '../health/probe.ts';
import { Prober } from '../health/prober.ts';
import type { AddressPool } from '../model/addressing.ts';
import { parseDurationMs, timerDelayMs } from '../model/duration.ts';
import type { EventInput } from '../model/event.ts';
import { slotName } from '../model/names.ts';
import type { TaskObservation } from '../model/task.ts';
import { assertAdmittedOnAgent } from '../policy/agent-admission.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import type { Action, TaskRuntime } from './converger.ts';
import { converge, FRESH_RUNTIME } from './converger.ts';
import type { Operation } from './observation.ts';
import { observe } from './observation.ts';
import type { ReportedDeath } from './reported-deaths.ts';
import { withDeaths } from './reported-deaths.ts';
import { SecretFileWriter } from './secret-files.ts';
import { Semaphore } from './semaphore.ts';

export interface LoopReport {
  readonly full: boolean;
  readonly tasks: TaskObservation[];
  readonly removed: string[];
  readonly events: (EventInput & { at: number })[];
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
  readonly stableAfterMs: number;
  readonly now: () => number;
  readonly onReport: (report: LoopReport) => void;
  readonly onError: (error: unknown) => void;
  /** Where secret and config files are written (a tmpfs; default /run/skiff/secrets). */
  readonly secretsDir?: string;
}

export class ConvergeLoop {
  readonly #options: ConvergeLoopOptions;
  readonly #semaphore: Semaphore;
  #desired: TaskSpec[] = [];
  #warm = false;
  #containers: ManagedContainer[] = [];
  #runtime = new Map<string, TaskRuntime>();
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
  readonly #secretFiles: SecretFileWriter;
  #passing = false;
  #again = false;
  #stopped = false;
  #wakeTimer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  readonly #abort = new AbortController();

  constructor(options: ConvergeLoopOptions) {
    this.#options = options;
    this.#secretFiles = new SecretFileWriter(options.secretsDir);
    this.#semaphore = new Semaphore(options.concurrency);
    this.#prober = new Prober({
      engine: options.engine,
      now: options.now,
      onResult: (containerId, result) => this.#onProbe(containerId, result),
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

  /** The desired set; `fromServer` is false for an assignment restored from disk. */
  setDesired(tasks: readonly TaskSpec[], options: { fromServer: boolean }): void {
    this.#desired = [...tasks];
    for (const task of tasks) this.#lastSpecs.set(task.task_id, task);
    if (options.fromServer) this.#warm = true;
    this.trigger();
  }

  /** The container that currently serves a task, for logs. */
  containerOf(taskId: string): ManagedContainer | undefined {
    return (
      this.#containers.find((c) => c.taskId === taskId && c.state === 'running') ??
      this.#containers.find((c) => c.taskId === taskId)
    );
  }

  /** Everything the agent knows, for a (re)connected server. */
  fullReport(): LoopReport {
    this.#reported.clear();
    const report = this.#diff(true);
    return report;
  }

  trigger(): void {
    if (this.#stopped) return;
    if (this.#passing) {
      this.#again = true;
      return;
    }
    this.#passing = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped);
    } catch (error) {
      this.#options.onError(error);
    } finally {
      this.#passing = false;
    }
  }

  async #pass(): Promise<void> {
    // An operation that ends while the list is in flight leaves the list stale for its task, so
    // what was busy when listing began stays busy for this pass.
    const busy = new Set(this.#operations.keys());
    this.#containers = withDeaths(
      await this.#options.engine.listManaged(this.#options.clusterId),
      this.#deaths,
    );
    for (const key of this.#operations.keys()) busy.add(key);
    const known = new Set([...this.#desired.map((t) => t.task_id), ...this.#containers.map((c) => c.taskId)]);
    for (const taskId of this.#lastSpecs.keys()) if (!known.has(taskId)) this.#lastSpecs.delete(taskId);
    const now = this.#options.now();
    const plan = converge({
      desired: this.#desired,
      warm: this.#warm,
      containers: this.#containers,
      runtime: this.#runtime,
      busy,
      unhealthy: new Set([...this.#health].filter(([, h]) => h.status === 'unhealthy').map(([id]) => id)),
      now,
      stableAfterMs: this.#options.stableAfterMs,
    });
    this.#runtime = plan.runtime;
    for (const event of plan.events) this.#record(event);
    for (const action of plan.actions) this.#launch(action);
    this.#syncProbes();
    clearTimeout(this.#wakeTimer);
    if (plan.wakeAt !== null) {
      this.#wakeTimer = setTimeout(() => this.trigger(), timerDelayMs(plan.wakeAt - now));
    }
    this.#publish();
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

  #onProbe(containerId: string, result: ProbeResult): void {
    const container = this.#containers.find((c) => c.id === containerId);
    const task = this.#desired.find((t) => t.task_id === container?.taskId);
    const check = task?.spec.health_check;
    if (!container || !task || !check) return;
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
    const message =
      tracked.transition === 'unhealthy'
        ? `Container ${name} failed health check`
        : `Container ${name} ${tracked.transition}`;
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
    void this.#drain(action)
      .then(() => this.#semaphore.run(() => this.#perform(action)))
      .catch((error: unknown) => this.#options.onError(error))
      .finally(() => {
        for (const key of keys) this.#operations.delete(key);
        this.trigger();
      });
  }

  /**
   * Before a replica is stopped: the server has already taken it out of the rotation, and
   * in-flight requests get the drain timeout to finish before SIGTERM. A container that is not
   * running has nothing to drain. Waiting here, outside the engine semaphore, costs no slot.
   */
  async #drain(action: Action): Promise<void> {
    if (action.kind !== 'remove') return;
    const last = this.#lastSpecs.get(action.taskId);
    const container = this.#containers.find((c) => c.id === action.containerId);
    const drainMs = parseDurationMs(last?.spec.update.drain_timeout ?? '0s') ?? 0;
    if (drainMs > 0 && container?.state === 'running')
      await new Promise((done) => setTimeout(done, timerDelayMs(drainMs)));
  }

  async #perform(action: Action): Promise<void> {
    const { engine } = this.#options;
    if (action.kind === 'remove') {
      await engine.stopContainer(action.containerId);
      await engine.removeContainer(action.containerId);
      this.#secretFiles.release(action.taskId);
      this.#record({
        type: 'container',
        service: action.service,
        container: action.name,
        message: `Container ${action.name} stopped`,
      });
      this.#lastSpecs.delete(action.taskId);
      return;
    }
    const task = action.task;
    const name = slotName(task.service, task.slot);
    try {
      if (action.kind === 'start') {
        await engine.startContainer(action.containerId);
      } else {
        if (action.kind === 'replace') {
          this.#record({
            type: 'restart',
            service: task.service,
            container: name,
            message: `Restarting ${name}...`,
          });
          this.#remember(task.task_id, (m) => ({ ...m, restarts: m.restarts + 1 }));
        }
        // The agent's own check: a server that is buggy (or not ours) cannot start what the policy refuses.
        assertAdmittedOnAgent(task);
        await this.#ensureImage(task);
        this.#operations.set(task.task_id, 'create');
        const attempt = this.#runtime.get(task.task_id)?.restarts ?? 0;
        const binds = this.#secretFiles.prepare(task);
        const definition = containerDefinition(
          task,
          { clusterId: this.#options.clusterId, pool: this.#options.pool },
          attempt,
          binds,
        );
        for (const network of definition.networks) await engine.ensureNetwork(network);
        const id = await engine.createContainer(definition);
        await engine.startContainer(id);
        // The dead container goes once its replacement runs: its removal is off the recovery path.
        if (action.kind === 'replace') await engine.removeContainer(action.containerId);
      }
      this.#remember(task.task_id, (m) => ({ ...m, lastError: null }));
      this.#record({
        type: 'container',
        service: task.service,
        container: name,
        message: `Container ${name} started`,
      });
    } catch (error) {
      // A name conflict means the engine already has this task's container: the next pass adopts it.
      if (error instanceof EngineError && error.status === 409) return;
      const message = error instanceof Error ? error.message : String(error);
      const previous = this.#runtime.get(task.task_id)?.lastError;
      this.#remember(task.task_id, (m) => ({
        ...m,
        failures: m.failures + 1,
        lastFailureAt: this.#options.now(),
        lastError: message,
      }));
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
    }
  }

  async #ensureImage(task: TaskSpec): Promise<void> {
    const { engine } = this.#options;
    // Present locally means no pull, ever: a tag is not re-resolved against a registry.
    if (await engine.hasImage(task.spec.image)) return;
    this.#operations.set(task.task_id, 'pull');
    this.#publish();
    this.#record({
      type: 'image',
      service: task.service,
      container: null,
      message: `Pulling image ${task.spec.image}`,
    });
    await engine.pullImage(task.spec.image);
    this.#record({
      type: 'image',
      service: task.service,
      container: null,
      message: `Pulled image ${task.spec.image}`,
    });
  }

  #remember(taskId: string, update: (memory: TaskRuntime) => TaskRuntime): void {
    this.#runtime.set(taskId, update(this.#runtime.get(taskId) ?? FRESH_RUNTIME));
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
      this.#deaths.set(event.containerId, {
        died: known?.died ?? false,
        exitCode: known?.exitCode ?? null,
        oomKilled: true,
      });
    } else if (event.action === 'start' || event.action === 'destroy') {
      this.#deaths.delete(event.containerId);
    }
    this.trigger();
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
