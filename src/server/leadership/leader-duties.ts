/**
 * What changes when this server starts or stops leading (HA on etcd), in one place:
 *
 * - start: guard every write of this process with the leader key under our lease (a paused or
 *   partitioned ex-leader's writes are then refused by etcd itself), take the nodes from the
 *   store afresh, each with the startup grace (no node is called down before its agent had time
 *   to come over from the previous leader, and none of its replicas moves), resume the
 *   controller from a fresh memory (it adopts what agents report), record the event, and send
 *   the agents held by the gateway here.
 * - stop: pause the controller at once (no pass runs after this line), close the agents (they
 *   look for the new leader), then drop the guard so this server's API writes go on as a
 *   follower's. The order matters: nothing decided as leader is written unguarded.
 */
import type { Store } from '../../store/store.ts';
import type { AgentGateway } from '../agent-gateway.ts';
import type { Cluster } from '../cluster.ts';
import type { Controller } from '../controller.ts';
import type { EventLog } from '../event-log.ts';
import type { LogBroker } from '../log-broker.ts';
import type { LeaderRecord } from './election-core.ts';

export interface LeaderDutiesOptions {
  readonly store: Store;
  readonly cluster: Cluster;
  readonly controller: Controller;
  readonly events: EventLog;
  readonly logs: LogBroker;
  readonly gateway: () => AgentGateway | undefined;
  readonly guardKey: string;
  readonly selfId: string;
  readonly now: () => number;
  readonly log: (message: string) => void;
}

export class LeaderDuties {
  readonly #options: LeaderDutiesOptions;
  /** The leader before this one, for the event (undefined: unknown). */
  #lastLeader: LeaderRecord | undefined;

  constructor(options: LeaderDutiesOptions) {
    this.#options = options;
  }

  start(since: number, leaseId: string): void {
    const { store, cluster, controller, events, now, selfId } = this.#options;
    store.setWriteGuard({ key: this.#options.guardKey, leaseId });
    cluster.reload(now());
    controller.resume();
    const previous =
      this.#lastLeader && this.#lastLeader.id !== selfId ? ` (after ${this.#lastLeader.id})` : '';
    events.append(
      {
        type: 'server',
        service: null,
        container: null,
        node: null,
        message: `Server ${selfId} is the leader${previous}, since ${new Date(since).toISOString()}`,
      },
      now(),
    );
    this.#options.gateway()?.reconsider();
  }

  stop(reason: string): void {
    const { store, cluster, controller, logs } = this.#options;
    controller.pause();
    this.#options.gateway()?.reconsider();
    for (const node of cluster.list()) logs.nodeGone(node.id);
    store.setWriteGuard(null);
    this.#options.log(`following now: ${reason}`);
  }

  leaderChanged(leader: LeaderRecord | undefined): void {
    if (leader && leader.id !== this.#options.selfId) this.#lastLeader = leader;
    this.#options.gateway()?.reconsider();
  }
}
