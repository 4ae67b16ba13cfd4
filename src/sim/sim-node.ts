/**
 * One node of the cluster simulator: the agent's pure cores (converger, observation, health
 * tracker) on a fake engine, in virtual time. It does what `ConvergeLoop` does (observe by label,
 * plan, run the actions with one operation per task, probe checked replicas on their interval,
 * report what changed), but every wait is a timer on the simulator's clock, so a run of minutes
 * takes milliseconds and replays exactly. (`ConvergeLoop` itself calls `setTimeout` directly;
 * once it takes a scheduling clock, the simulator can run it instead of this loop.)
 */

import type { Action, Outcome, TaskRuntime } from '../agent/converger.ts';
import { converge } from '../agent/converger.ts';
import type { Operation } from '../agent/observation.ts';
import { observe } from '../agent/observation.ts';
import { containerDefinition } from '../docker/container-definition.ts';
import type { ManagedContainer } from '../docker/container-engine.ts';
import { EngineError } from '../docker/container-engine.ts';
import type { HealthState } from '../health/health-tracker.ts';
import { INITIAL_HEALTH, trackHealth } from '../health/health-tracker.ts';
import { DEFAULT_POOL } from '../model/addressing.ts';
import { parseDurationMs } from '../model/duration.ts';
import type { EventInput } from '../model/event.ts';
import { slotName } from '../model/names.ts';
import type { TaskObservation } from '../model/task.ts';
import type { AgentMessage, ServerMessage, TaskSpec } from '../protocol/messages.ts';
import type { SimClock, TimerHandle } from './clock.ts';
import type { FakeEngine } from './fake-engine.ts';

/** As the real agent: the first probe comes soon after start. */
const FIRST_PROBE_MAX_MS = 500;
const STABLE_AFTER_MS = 10_000;

type Report = Extract<AgentMessage, { type: 'report' }>;

export interface SimNodeOptions {
  readonly name: string;
  readonly clusterId: string;
  readonly engine: FakeEngine;
  readonly clock: SimClock;
  /** Sends a report to the server (the simulator decides whether it arrives). */
  readonly send: (report: Report) => void;
}

export class SimNode {
  readonly #options: SimNodeOptions;
  #desired: TaskSpec[] = [];
  #warm = false;
  #generation = 0;
  #containers: ManagedContainer[] = [];
  #runtime = new Map<string, TaskRuntime>();
  /** What finished operations did, for the converger's next pass (it alone writes the memory). */
  #outcomes: Outcome[] = [];
  readonly #operations = new Map<string, Operation>();
  readonly #health = new Map<string, HealthState>();
  readonly #probes = new Map<string, TimerHandle>();
  readonly #reported = new Map<string, string>();
  /** The last spec seen for each task, kept past its removal from the desired set (drain timeout). */
  readonly #lastSpecs = new Map<string, TaskSpec>();
  #events: (EventInput & { at: number })[] = [];
  #passQueued = false;
  #passing = false;
  #again = false;
  #wake: TimerHandle | undefined;
  #stopped = false;
  readonly #abort = new AbortController();

  constructor(options: SimNodeOptions) {
    this.#options = options;
    void options.engine.watchEvents(options.clusterId, () => this.trigger(), this.#abort.signal);
  }

  get name(): string {
    return this.#options.name;
  }

  get engine(): FakeEngine {
    return this.#options.engine;
  }

  /** The tasks the server last assigned. */
  get desired(): readonly TaskSpec[] {
    return this.#desired;
  }

  receive(message: ServerMessage): void {
    if (this.#stopped) return;
    if (message.type === 'assign') {
      this.#generation = message.generation;
      this.#desired = [...message.tasks];
      for (const task of message.tasks) this.#lastSpecs.set(task.task_id, task);
      this.#warm = true;
      this.trigger();
    }
  }

  /** Everything it knows, for a server it has just (re)connected to. */
  fullReport(): Report {
    this.#reported.clear();
    return this.#diff(true);
  }

  /** The host dies: nothing runs on. */
  stop(): void {
    this.#stopped = true;
    this.#abort.abort();
    for (const timer of this.#probes.values()) this.#options.clock.clearTimeout(timer);
    this.#options.clock.clearTimeout(this.#wake);
  }

  trigger(): void {
    if (this.#stopped || this.#passQueued) return;
    this.#passQueued = true;
    this.#options.clock.setTimeout(() => {
      this.#passQueued = false;
      void this.#run();
    }, 0);
  }

  async #run(): Promise<void> {
    if (this.#passing) {
      this.#again = true;
      return;
    }
    this.#passing = true;
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped);
    } finally {
      this.#passing = false;
    }
  }

  async #pass(): Promise<void> {
    const { clock, engine, clusterId } = this.#options;
    const busy = new Set(this.#operations.keys());
    try {
      this.#containers = await engine.listManaged(clusterId);
    } catch {
      return;
    }
    for (const key of this.#operations.keys()) busy.add(key);
    const now = clock.now();
    const plan = converge({
      desired: this.#desired,
      warm: this.#warm,
      containers: this.#containers,
      runtime: this.#runtime,
      outcomes: this.#outcomes.splice(0),
      busy,
      unhealthy: new Set([...this.#health].filter(([, h]) => h.status === 'unhealthy').map(([id]) => id)),
      now,
      stableAfterMs: STABLE_AFTER_MS,
    });
    this.#runtime = plan.runtime;
    for (const event of plan.events) this.#record(event);
    for (const action of plan.actions) this.#launch(action);
    this.#syncProbes();
    clock.clearTimeout(this.#wake);
    this.#wake =
      plan.wakeAt === null
        ? undefined
        : clock.setTimeout(() => this.trigger(), Math.max(0, plan.wakeAt - now));
    this.#publish();
  }

  #launch(action: Action): void {
    const keys = action.kind === 'remove' ? [action.containerId] : [action.task.task_id];
    if (action.kind === 'replace' || action.kind === 'start') keys.push(action.containerId);
    for (const key of keys) this.#operations.set(key, action.kind);
    void this.#perform(action).finally(() => {
      for (const key of keys) this.#operations.delete(key);
      this.trigger();
    });
  }

  async #perform(action: Action): Promise<void> {
    const { engine, clock, clusterId } = this.#options;
    if (action.kind === 'remove') {
      const container = this.#containers.find((c) => c.id === action.containerId);
      const last = this.#lastSpecs.get(action.taskId);
      const drainMs = parseDurationMs(last?.spec.update.drain_timeout ?? '0s') ?? 0;
      if (drainMs > 0 && container?.state === 'running') {
        await new Promise<void>((resolve) => clock.setTimeout(resolve, drainMs));
      }
      try {
        await engine.stopContainer(action.containerId);
        await engine.removeContainer(action.containerId);
        this.#record({
          type: 'container',
          service: action.service,
          container: action.name,
          message: `Container ${action.name} stopped`,
        });
        this.#lastSpecs.delete(action.taskId);
      } catch {
        // The engine is away; the next pass tries again.
      }
      return;
    }
    const task = action.task;
    const name = slotName(task.service, task.slot);
    try {
      let id = action.kind === 'start' ? action.containerId : '';
      if (action.kind === 'start') await engine.startContainer(action.containerId);
      else {
        if (action.kind === 'replace') {
          this.#record({
            type: 'restart',
            service: task.service,
            container: name,
            message: `Restarting ${name}...`,
          });
        }
        this.#operations.set(task.task_id, 'create');
        id = await engine.createContainer(
          containerDefinition(task, { clusterId, pool: DEFAULT_POOL }, action.attempt),
        );
        await engine.startContainer(id);
        if (action.kind === 'replace') await engine.removeContainer(action.containerId);
      }
      this.#outcomes.push({ kind: 'ran', taskId: task.task_id, containerId: id });
      this.#record({
        type: 'container',
        service: task.service,
        container: name,
        message: `Container ${name} started`,
      });
    } catch (error) {
      if (error instanceof EngineError && error.status === 409) {
        this.#outcomes.push({ kind: 'conflict', taskId: task.task_id });
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      this.#outcomes.push({ kind: 'failed', taskId: task.task_id, error: message, at: clock.now() });
    }
  }

  #containerOf(taskId: string): ManagedContainer | undefined {
    const current = this.#runtime.get(taskId)?.current;
    return (
      this.#containers.find((c) => c.id === current) ??
      this.#containers.find((c) => c.taskId === taskId && c.state === 'running') ??
      this.#containers.find((c) => c.taskId === taskId)
    );
  }

  /** One probe schedule per running checked container, drift-free as the real prober's. */
  #syncProbes(): void {
    const { clock } = this.#options;
    const wanted = new Map<string, TaskSpec>();
    for (const task of this.#desired) {
      const container = this.#containerOf(task.task_id);
      if (task.spec.health_check && container?.state === 'running') wanted.set(container.id, task);
    }
    for (const [id, timer] of this.#probes) {
      if (wanted.has(id)) continue;
      clock.clearTimeout(timer);
      this.#probes.delete(id);
      this.#health.delete(id);
    }
    for (const [id, task] of wanted) {
      if (this.#probes.has(id) || !task.spec.health_check) continue;
      const intervalMs = parseDurationMs(task.spec.health_check.interval) ?? 10_000;
      const startedAt = clock.now();
      const firstMs = Math.min(FIRST_PROBE_MAX_MS, intervalMs);
      let turn = 0;
      const arm = () => {
        const due = startedAt + firstMs + turn * intervalMs;
        this.#probes.set(
          id,
          clock.setTimeout(
            () => {
              turn++;
              arm();
              void this.#probe(id, task);
            },
            Math.max(0, due - clock.now()),
          ),
        );
      };
      arm();
    }
  }

  async #probe(containerId: string, task: TaskSpec): Promise<void> {
    const check = task.spec.health_check;
    if (!check) return;
    let result: { ok: boolean; message: string };
    try {
      const { exitCode } = await this.#options.engine.exec(containerId, check.command ?? [], 1000);
      result = { ok: exitCode === 0, message: `exit ${exitCode}` };
    } catch (error) {
      result = { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
    if (!this.#probes.has(containerId)) return;
    const now = this.#options.clock.now();
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
    this.#record({
      type: 'health_check',
      service: task.service,
      container: name,
      message:
        tracked.transition === 'unhealthy'
          ? `Container ${name} failed health check`
          : `Container ${name} ${tracked.transition}`,
    });
    if (tracked.transition === 'unhealthy') this.trigger();
    else this.#publish();
  }

  #record(event: Omit<EventInput, 'node'>): void {
    this.#events.push({ ...event, node: this.name, at: this.#options.clock.now() });
  }

  #publish(): void {
    const report = this.#diff(false);
    if (report.tasks.length > 0 || report.removed.length > 0 || report.events.length > 0)
      this.#options.send(report);
  }

  #diff(full: boolean): Report {
    const desired = new Map(this.#desired.map((t) => [t.task_id, t]));
    const taskIds = new Set([...desired.keys(), ...this.#containers.map((c) => c.taskId)]);
    const tasks: TaskObservation[] = [];
    for (const taskId of taskIds) {
      const container = this.#containerOf(taskId);
      const health = container ? this.#health.get(container.id) : undefined;
      const observation = observe({
        taskId,
        task: desired.get(taskId),
        container,
        memory: this.#runtime.get(taskId),
        operation:
          this.#operations.get(taskId) ?? (container ? this.#operations.get(container.id) : undefined),
        health: health && {
          status: health.status,
          message: health.lastMessage,
          healthySince: health.healthySince,
        },
      });
      const text = JSON.stringify(observation);
      if (full || this.#reported.get(taskId) !== text) tasks.push(observation);
      this.#reported.set(taskId, text);
    }
    const removed = [...this.#reported.keys()].filter((id) => !taskIds.has(id));
    for (const id of removed) this.#reported.delete(id);
    const events = this.#events;
    this.#events = [];
    return { type: 'report', generation: this.#generation, full, tasks, removed, events };
  }
}
