/**
 * The agent's prepared replicas, the I/O half (decisions in prepared-plan.ts; the server's side is
 * server/prepare-plan.ts): while another node is silent, the server asks this agent to hold some
 * of its replicas ready here (`prepare`, the whole set each time). Each is made as the converger
 * would make it (image present, networks, the same container name and labels, plus
 * `skiff.prepared`), but not started. When the server calls the silent node down it assigns the
 * replacement here under the prepared task's id, and the converger finds the task's container
 * created and only starts it (converger.ts `start`). A set that no longer lists one removes it.
 *
 * Nothing leaks across restarts: a fresh agent wants nothing, so its first pass removes every
 * unstarted prepared container whose task is not assigned (the sweep by label), and every welcome
 * clears the set (a server that restarted knows nothing of what it asked).
 *
 * Creates have their own small bound, apart from the converger's semaphore: they are made while
 * nothing is wrong here, and must never hold up a start the failover waits for.
 */

import { containerDefinition } from '../docker/container-definition.ts';
import type { ContainerEngine, ManagedContainer } from '../docker/container-engine.ts';
import { EngineError, LABELS } from '../docker/container-engine.ts';
import type { AddressPool } from '../model/addressing.ts';
import { assertAdmittedOnAgent } from '../policy/agent-admission.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { CoalescedRun } from './coalesced-run.ts';
import type { PreparedAction } from './prepared-plan.ts';
import { isUnstartedPrepared, planPrepared } from './prepared-plan.ts';
import { needsPull } from './pull-policy.ts';
import { Semaphore } from './semaphore.ts';

/** Prepared creates at once on this engine. */
export const PREPARE_CONCURRENCY = 8;

export interface PreparedReplicasOptions {
  readonly engine: ContainerEngine;
  readonly clusterId: string;
  readonly pool: AddressPool;
  /** The node's cluster address, where replica ports are published (as the converger's creates). */
  readonly publishAddress?: string;
  /** Tasks assigned to this node now (the converge loop's desired set). */
  readonly assigned: () => ReadonlySet<string>;
  readonly log: (message: string) => void;
  /** Bounds creates at once (default PREPARE_CONCURRENCY). */
  readonly concurrency?: number;
  /**
   * A create ended for a task assigned here meanwhile: the converger can start it now (with the
   * container made; undefined when the create failed or made nothing, and the converger decides).
   */
  readonly onAssignedCreated?: (taskId: string, containerId: string | undefined) => void;
}

export class PreparedReplicas {
  readonly #options: PreparedReplicasOptions;
  readonly #semaphore: Semaphore;
  #wanted: readonly TaskSpec[] = [];
  #failed = new Set<string>();
  readonly #busy = new Set<string>();
  readonly #creating = new Set<string>();
  /** Each task's created, never started prepared container, as last listed or since made. */
  #made = new Map<string, string>();
  /**
   * Each image made ready (present, pulled if it had to be) with its `EXPOSE` ports: asked once
   * per image, and by one request however many replicas of it are prepared at once (a silent
   * node's replicas all arrive together, and each asked the engine twice).
   */
  readonly #images = new Map<string, Promise<string[]>>();
  readonly #runs = new CoalescedRun(
    () => this.#pass(),
    (error) =>
      this.#options.log(`prepared replicas: ${error instanceof Error ? error.message : String(error)}`),
    () => this.#stopped,
  );
  #stopped = false;

  constructor(options: PreparedReplicasOptions) {
    this.#options = options;
    this.#semaphore = new Semaphore(options.concurrency ?? PREPARE_CONCURRENCY);
  }

  /** The first pass wants nothing: it removes what an earlier run of this agent left prepared. */
  start(): void {
    this.trigger();
  }

  stop(): void {
    this.#stopped = true;
  }

  /** The whole set the server wants prepared here; failed creates are tried again. */
  setWanted(tasks: readonly TaskSpec[]): void {
    const before = this.wanted().join();
    this.#wanted = [...tasks];
    if (this.wanted().join() !== before)
      this.#options.log(
        tasks.length === 0
          ? 'no replicas to hold prepared'
          : `holding ${tasks.length} replica${tasks.length === 1 ? '' : 's'} prepared for another node's failover: ${tasks.map((t) => `${t.service}.${t.slot}`).join(', ')}`,
      );
    this.#failed = new Set();
    this.trigger();
  }

  /** Tasks whose prepared container is being made now (the converger waits for them). */
  creating(): string[] {
    return [...this.#creating];
  }

  /**
   * The task's prepared container, created and never started, if one is known (for a task just
   * assigned here: the converge loop starts it without waiting for its next list).
   */
  createdFor(taskId: string): string | undefined {
    return this.#busy.has(taskId) ? undefined : this.#made.get(taskId);
  }

  /** The task ids currently wanted (for tests and the agent's log). */
  wanted(): string[] {
    return this.#wanted.map((t) => t.task_id);
  }

  trigger(): void {
    this.#runs.trigger();
  }

  async #pass(): Promise<void> {
    const busy = new Set(this.#busy);
    const containers = await this.#options.engine.listManaged(this.#options.clusterId);
    for (const key of this.#busy) busy.add(key);
    // What the list shows, plus what was made while it was in flight (a create ends in #made).
    const made = new Map(containers.filter(isUnstartedPrepared).map((c) => [c.taskId, c.id]));
    for (const [taskId, id] of this.#made)
      if (this.#creating.has(taskId) || busy.has(taskId)) made.set(taskId, id);
    this.#made = made;
    const actions = planPrepared({
      wanted: this.#wanted,
      containers,
      assigned: this.#options.assigned(),
      busy,
      failed: this.#failed,
    });
    for (const action of actions) this.#launch(action, containers);
  }

  #launch(action: PreparedAction, containers: readonly ManagedContainer[]): void {
    const keys = action.kind === 'remove' ? [action.containerId, action.taskId] : [action.task.task_id];
    for (const key of keys) this.#busy.add(key);
    const done = action.kind === 'remove' ? this.#remove(action, containers) : this.#create(action.task);
    void done.finally(() => {
      for (const key of keys) this.#busy.delete(key);
      this.trigger();
    });
  }

  async #remove(
    action: Extract<PreparedAction, { kind: 'remove' }>,
    containers: readonly ManagedContainer[],
  ): Promise<void> {
    const container = containers.find((c) => c.id === action.containerId);
    try {
      if (this.#made.get(action.taskId) === action.containerId) this.#made.delete(action.taskId);
      await this.#options.engine.removeContainer(action.containerId);
      this.#options.log(`removed prepared replica ${container?.name ?? action.containerId.slice(0, 12)}`);
    } catch (error) {
      this.#options.log(
        `could not remove prepared replica ${container?.name ?? action.containerId.slice(0, 12)}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  async #create(task: TaskSpec): Promise<void> {
    const { engine, clusterId, pool } = this.#options;
    this.#creating.add(task.task_id);
    let made: string | undefined;
    try {
      await this.#semaphore.run(async () => {
        assertAdmittedOnAgent(task);
        const exposed = await this.#imageReady(task);
        const imagePorts = task.spec.network_mode === 'host' ? [] : exposed;
        // Attempt 0, as the converger's first create of the task: the same name, so whichever of
        // the two creates second meets a name conflict and the converger adopts the one made.
        const definition = containerDefinition(
          task,
          { clusterId, pool },
          0,
          [],
          this.#options.publishAddress,
          imagePorts,
        );
        const labels = (definition.body.Labels ?? {}) as Record<string, string>;
        for (const network of definition.networks) await engine.ensureNetwork(network);
        // Neither wanted nor assigned any more (the node came back): nothing to make. Assigned
        // meanwhile (the node was called down): made all the same, the converger waits for it.
        if (!this.#options.assigned().has(task.task_id) && !this.wanted().includes(task.task_id)) return;
        made = await engine.createContainer({
          ...definition,
          body: { ...definition.body, Labels: { ...labels, [LABELS.prepared]: 'true' } },
        });
        this.#made.set(task.task_id, made);
      });
    } catch (error) {
      this.#images.delete(task.spec.image);
      // The converger's create of the same name came first: the task is its now.
      if (error instanceof EngineError && error.status === 409) return;
      this.#failed.add(task.task_id);
      this.#options.log(
        `could not prepare ${task.service}.${task.slot}: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      this.#creating.delete(task.task_id);
      if (this.#options.assigned().has(task.task_id)) this.#options.onAssignedCreated?.(task.task_id, made);
    }
  }

  /**
   * The task's image present (pulled when its policy says so) and its `EXPOSE` ports, shared by
   * every prepare of that image: the first asks the engine, the others wait for its answer. A
   * `pull: always` image is asked again by the next prepare after this one ends.
   */
  #imageReady(task: TaskSpec): Promise<string[]> {
    const { engine } = this.#options;
    const reference = task.spec.image;
    const known = this.#images.get(reference);
    if (known) return known;
    const ready = (async () => {
      const present = await engine.hasImage(reference);
      if (needsPull({ reference, policy: task.spec.pull, present }))
        await engine.pullImage(reference, { auth: task.registry_auth });
      return await engine.imageExposedPorts(reference);
    })();
    this.#images.set(reference, ready);
    const forget = () => {
      if (this.#images.get(reference) === ready) this.#images.delete(reference);
    };
    if (task.spec.pull === 'always') void ready.finally(forget).catch(() => {});
    else void ready.catch(forget);
    return ready;
  }
}
