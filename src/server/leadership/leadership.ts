/**
 * Who leads, as the rest of the server sees it: whether this server runs the controller and
 * takes agents, who the leader is (where agents and agent-bound requests are sent), and every
 * server of the cluster for `skiff servers`. Two kinds: `SoleLeadership` (one server on SQLite:
 * it simply leads, and nothing about it changes) and `EtcdLeadership` (etcd-leadership.ts).
 */
import type { ServerView } from '../../model/views.ts';
import type { AgentAdmission } from './agent-admission.ts';
import { agentAdmission } from './agent-admission.ts';
import type { LeaderRecord } from './election-core.ts';

export interface ServerIdentity {
  /** Stable across restarts of the same server (host name and port). */
  readonly id: string;
  /** Where the API and the agent port are reached from other hosts (`--advertise`). */
  readonly url: string;
  /** When this process started (epoch ms). */
  readonly startedAt: number;
}

export interface Leadership {
  readonly self: ServerIdentity;
  readonly leading: boolean;
  /** The leader as last seen (this server while it leads); undefined while nobody does. */
  readonly leader: LeaderRecord | undefined;
  /** What the agent gateway does with a connecting agent now (`unreachable`: see agent-admission.ts). */
  admission(unreachable?: { readonly url: string; readonly arrivedAtMs: number }): AgentAdmission;
  /** Every server known to the cluster, the leader marked. */
  servers(): Promise<ServerView[]>;
  /** An agent says it could not reach `url` (HA: the leader is probed, etcd-leadership.ts). */
  suspect(url: string): void;
  /** Whether this server leads, and under which lease (`GET /ha/v1/leading`, leader-probe.ts). */
  leadingAnswer(): { leading: boolean; lease: string | null };
  close(): Promise<void>;
}

export class SoleLeadership implements Leadership {
  readonly self: ServerIdentity;
  readonly leading = true;

  constructor(self: ServerIdentity) {
    this.self = self;
  }

  get leader(): LeaderRecord {
    return { id: this.self.id, url: this.self.url, since: this.self.startedAt, lease: '0' };
  }

  admission(_unreachable?: { readonly url: string; readonly arrivedAtMs: number }): AgentAdmission {
    return agentAdmission({
      leading: true,
      selfId: this.self.id,
      selfUrl: this.self.url,
      holder: this.leader,
    });
  }

  async servers(): Promise<ServerView[]> {
    const started = new Date(this.self.startedAt).toISOString();
    return [
      { id: this.self.id, url: this.self.url, leader: true, started_at: started, leader_since: started },
    ];
  }

  suspect(_url: string): void {}

  leadingAnswer(): { leading: boolean; lease: string | null } {
    return { leading: true, lease: this.leader.lease };
  }

  async close(): Promise<void> {}
}
