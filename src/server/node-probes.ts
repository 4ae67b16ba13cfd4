/**
 * Indirect probes, the I/O half (the decisions are node-probe-plan.ts): when a node goes silent
 * (its link drops, or its heartbeats stop), ask up to two other agents whether its replicas still
 * accept connections at its published ports. All that answer say no: the node is marked probed
 * down and the next pass calls it down without waiting out the grace (node-liveness.ts). Any says
 * yes: its agent is restarting or cut off from the server alone, so the grace stands and nothing
 * moves. No prober, no port, no answer in time: the grace stands too. Until the grace ends or the
 * agent is back, the node is probed again every REPROBE_MS: a host dies piece by piece (its agent
 * can go first, its replicas a moment later), so a first probe may still find them serving.
 */
import { randomUUID } from 'node:crypto';
import { FEATURES } from '../protocol/features.ts';
import type { Store } from '../store/store.ts';
import type { Cluster, NodeSession } from './cluster.ts';
import type { EventLog } from './event-log.ts';
import { chooseProbers, probePorts, probeVerdict } from './node-probe-plan.ts';

/**
 * Each connection a prober tries may take this long. A live replica on a LAN accepts in about a
 * millisecond; a dead one's DNAT leads nowhere and only the timeout ends the try, so it bounds how
 * soon a killed host is down.
 */
export const PROBE_CONNECT_TIMEOUT_MS = 250;
/** Answers later than this are not waited for. */
const PROBE_DEADLINE_MS = 1000;
/**
 * A node still silent after a probe that did not find it down is probed again this much later. A
 * host dies piece by piece (a killed host's agent goes first, its docker-proxy and replicas some
 * ms later), so the first probe, sent within milliseconds of the agent's drop, often still finds
 * its replicas answering: this delay is then most of the time to the down (it was 400 ms, and a
 * killed lab host went down at 0.42–0.45 s). A probe is a few connects from two agents, so one
 * every 100 ms while an agent restarts (its 3 s grace at most) costs nothing worth counting.
 */
export const REPROBE_MS = 100;

interface Pending {
  readonly target: string;
  readonly startedAt: number;
  readonly probers: ReadonlySet<string>;
  readonly answers: Map<string, { reachable: boolean; detail: string }>;
  readonly timer: NodeJS.Timeout;
}

export interface NodeProbesOptions {
  readonly cluster: Cluster;
  readonly store: Pick<Store, 'tasksOnNode'>;
  readonly events: EventLog;
  readonly now: () => number;
  /** A verdict of `down` was recorded: the controller should run a pass. */
  readonly onDown: () => void;
  readonly log: (message: string) => void;
}

export class NodeProbes {
  readonly #options: NodeProbesOptions;
  readonly #pending = new Map<string, Pending>();
  /** The probe under way for each target, so a second trigger of the same silence asks nobody again. */
  readonly #byTarget = new Map<string, string>();
  /** The next probe of a node still silent after the last one. */
  readonly #again = new Map<string, NodeJS.Timeout>();
  /** Nodes whose replicas were found answering during the current silence (said once). */
  readonly #answered = new Set<string>();

  constructor(options: NodeProbesOptions) {
    this.#options = options;
  }

  /** A node went silent: ask others about it, unless a probe of it is under way. */
  start(target: string): void {
    if (this.#byTarget.has(target)) return;
    clearTimeout(this.#again.get(target));
    this.#again.delete(target);
    const { cluster, store, now } = this.#options;
    const node = cluster.get(target);
    if (!node || node.probedDown || !silent(node)) return;
    const ports = probePorts(
      store
        .tasksOnNode(target)
        .filter((t) => t.desiredState === 'running' && t.observed?.state === 'running')
        .map((t) => ({ taskId: t.id, ports: t.observed?.ports ?? [] })),
    );
    if (ports.length === 0) return;
    const probers = chooseProbers(
      cluster.list().map((n) => ({
        id: n.id,
        ready: n.status === 'ready',
        connected: n.link !== undefined,
        canProbe: n.features.has(FEATURES.nodeProbe),
      })),
      target,
    );
    if (probers.length === 0) return;
    const probeId = randomUUID();
    const startedAt = now();
    const timer = setTimeout(() => this.#conclude(probeId), PROBE_DEADLINE_MS);
    timer.unref();
    this.#pending.set(probeId, { target, startedAt, probers: new Set(probers), answers: new Map(), timer });
    this.#byTarget.set(target, probeId);
    for (const id of probers)
      cluster.get(id)?.link?.send({
        type: 'probe.node',
        probe_id: probeId,
        node_id: target,
        address: node.registration.address,
        ports,
        timeout_ms: PROBE_CONNECT_TIMEOUT_MS,
      });
  }

  /** A prober's answer; one that was not asked, or comes late, is ignored. */
  result(from: string, probeId: string, reachable: boolean, detail: string): void {
    const pending = this.#pending.get(probeId);
    if (!pending?.probers.has(from) || pending.answers.has(from)) return;
    pending.answers.set(from, { reachable, detail });
    if (reachable || pending.answers.size === pending.probers.size) this.#conclude(probeId);
  }

  /** The node's agent is back (or gone for good): nothing to decide about its silence any more. */
  forget(target: string): void {
    clearTimeout(this.#again.get(target));
    this.#again.delete(target);
    this.#answered.delete(target);
    const probeId = this.#byTarget.get(target);
    if (probeId === undefined) return;
    clearTimeout(this.#pending.get(probeId)?.timer);
    this.#pending.delete(probeId);
    this.#byTarget.delete(target);
  }

  stop(): void {
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    for (const timer of this.#again.values()) clearTimeout(timer);
    this.#again.clear();
    this.#pending.clear();
    this.#byTarget.clear();
  }

  #conclude(probeId: string): void {
    const pending = this.#pending.get(probeId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(probeId);
    this.#byTarget.delete(pending.target);
    const answers = [...pending.answers.entries()];
    const verdict = probeVerdict(answers.map(([, a]) => a.reachable));
    const said = answers.map(([id, a]) => `${id}: ${a.detail}`).join('; ');
    const { cluster, events, now } = this.#options;
    this.#options.log(
      `indirect probe of ${pending.target}: ${verdict} after ${now() - pending.startedAt} ms (${said || 'no answer'})`,
    );
    if (verdict === 'down') {
      if (!cluster.probedDown(pending.target, pending.startedAt)) return;
      events.append(
        {
          type: 'node',
          service: null,
          container: null,
          node: pending.target,
          message: `Node ${pending.target}'s replicas answer no other node (${said})`,
        },
        now(),
      );
      this.#options.onDown();
      return;
    }
    const again = setTimeout(() => this.start(pending.target), REPROBE_MS);
    again.unref();
    this.#again.set(pending.target, again);
    if (verdict === 'reachable' && !this.#answered.has(pending.target)) {
      this.#answered.add(pending.target);
      events.append(
        {
          type: 'node',
          service: null,
          container: null,
          node: pending.target,
          message: `Node ${pending.target} is silent but its replicas still answer (${said}): waiting out the grace`,
        },
        now(),
      );
    }
  }
}

/** Not heard from: its link dropped, or the pass found it silent; and not yet called down. */
function silent(node: NodeSession): boolean {
  return node.status !== 'down' && (node.link === undefined || node.status === 'unreachable');
}
