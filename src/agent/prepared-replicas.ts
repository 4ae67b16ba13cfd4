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
import { planPrepared } from './prepared-plan.ts';
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
  /** A create ended for a task assigned here meanwhile: the converger can start (or make) it now. */
  readonly onAssignedCreated?: () => void;
}

export class PreparedReplicas {
  readonly #options: PreparedReplicasOptions;
  readonly #semaphore: Semaphore;
  #wanted: readonly TaskSpec[] = [];
  #failed = new Set<string>();
  readonly #busy = new Set<string>();
  readonly #creating = new Set<string>();
  /** Images seen present, and each image's `EXPOSE` ports: asked once, not per replica. */
  readonly #images = new Set<string>();
  readonly #imagePorts = new Map<string, string[]>();
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
    try {
      await this.#semaphore.run(async () => {
        assertAdmittedOnAgent(task);
        const reference = task.spec.image;
        const always = task.spec.pull === 'always';
        if (always || !this.#images.has(reference)) {
          const present = await engine.hasImage(reference);
          if (needsPull({ reference, policy: task.spec.pull, present }))
            await engine.pullImage(reference, { auth: task.registry_auth });
          this.#images.add(reference);
        }
        let imagePorts = task.spec.network_mode === 'host' ? [] : this.#imagePorts.get(reference);
        if (imagePorts === undefined) {
          imagePorts = await engine.imageExposedPorts(reference);
          this.#imagePorts.set(reference, imagePorts);
        }
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
        await engine.createContainer({
          ...definition,
          body: { ...definition.body, Labels: { ...labels, [LABELS.prepared]: 'true' } },
        });
      });
    } catch (error) {
      this.#images.delete(task.spec.image);
      this.#imagePorts.delete(task.spec.image);
      // The converger's create of the same name came first: the task is its now.
      if (error instanceof EngineError && error.status === 409) return;
      this.#failed.add(task.task_id);
      this.#options.log(
        `could not prepare ${task.service}.${task.slot}: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      this.#creating.delete(task.task_id);
      if (this.#options.assigned().has(task.task_id)) this.#options.onAssignedCreated?.();
    }
  }
}
