/**
 * Leadership among several servers on one etcd: the election (etcd-election.ts) and the server
 * registry (`servers/<id>` under the cluster's keyspace, each on a lease of the server's own, so a
 * server that dies drops out of `skiff servers` within seconds). The composition root hands in
 * what to do when this server starts or stops leading, and when the leader changes.
 */
import type { Etcd3, Lease, Namespace } from 'etcd3';
import { z } from 'zod';
import type { ServerView } from '../../model/views.ts';
import type { AgentAdmission } from './agent-admission.ts';
import { agentAdmission, sameServer } from './agent-admission.ts';
import type { LeaderRecord } from './election-core.ts';
import { EtcdElection, LEADER_KEY } from './etcd-election.ts';
import type { ProbeVerdict } from './leader-probe.ts';
import { probeLeader } from './leader-probe.ts';
import type { Leadership, ServerIdentity } from './leadership.ts';

export interface EtcdLeadershipOptions {
  readonly client: Etcd3;
  /** The store's key prefix (`/skiff`); the leader key and the registry live under it. */
  readonly prefix: string;
  readonly self: ServerIdentity;
  readonly leaseTtlMs?: number;
  readonly now: () => number;
  readonly log: (message: string) => void;
  readonly onLeading: (since: number, leaseId: string) => void;
  readonly onFollowing: (reason: string) => void;
  readonly onLeader: (leader: LeaderRecord | undefined) => void;
  /** The cluster CA bundle (PEM) another server's serving certificate is verified against. */
  readonly caPem: () => string;
  /** A probe found the leader leading after an agent could not reach it (held agents go back). */
  readonly onLeaderConfirmed?: () => void;
  /** Asks a server whether it leads (default: leader-probe.ts over HTTPS). */
  readonly probe?: (url: string, caPem: string) => Promise<ProbeVerdict>;
}

const registrationSchema = z.object({ id: z.string(), url: z.string(), started_at: z.number() });
/** A registration outlives its server by at most this (a crashed server's entry expires). */
const REGISTRY_TTL_S = 5;
const REGISTRY_CHECK_MS = 2000;
/** A leader a probe found leading is not probed again before this (agents keep saying so). */
const CONFIRMED_FOR_MS = 1000;

/** The full etcd key of the leader (what the store's write guard compares). */
export function leaderKey(prefix: string): string {
  return `${haNamespace(prefix)}${LEADER_KEY}`;
}

function haNamespace(prefix: string): string {
  return `${prefix.replace(/\/+$/, '')}/ha/`;
}

export class EtcdLeadership implements Leadership {
  readonly self: ServerIdentity;
  readonly #options: EtcdLeadershipOptions;
  readonly #etcd: Namespace;
  readonly #election: EtcdElection;
  #registration: Lease | undefined;
  #refresh: NodeJS.Timeout | undefined;
  #closed = false;
  /** The holder being probed now (id and lease), so one agent's report is probed once. */
  #probing: string | undefined;
  /** The holder a probe last found leading (id and lease), and when. */
  #confirmed: { readonly holder: string; readonly atMs: number } | undefined;

  private constructor(options: EtcdLeadershipOptions) {
    this.#options = options;
    this.self = options.self;
    this.#etcd = options.client.namespace(haNamespace(options.prefix));
    this.#election = new EtcdElection({
      etcd: this.#etcd,
      self: { id: options.self.id, url: options.self.url },
      ...(options.leaseTtlMs ? { ttlMs: options.leaseTtlMs } : {}),
      now: options.now,
      log: options.log,
      onLeading: (since) => options.onLeading(since, this.#election.leaseId ?? ''),
      onFollowing: options.onFollowing,
      onHolder: options.onLeader,
    });
  }

  static async start(options: EtcdLeadershipOptions): Promise<EtcdLeadership> {
    const leadership = new EtcdLeadership(options);
    await leadership.#register();
    // A partition can cost the registration its lease without etcd3 noticing for a while: the
    // entry is checked every REGISTRY_CHECK_MS and put back under a new lease when it is gone.
    leadership.#refresh = setInterval(() => void leadership.#checkRegistration(), REGISTRY_CHECK_MS);
    await leadership.#election.start();
    return leadership;
  }

  get leading(): boolean {
    return this.#election.leading;
  }

  get leader(): LeaderRecord | undefined {
    return this.#election.holder;
  }

  admission(unreachable?: { readonly url: string; readonly arrivedAtMs: number }): AgentAdmission {
    return agentAdmission({
      leading: this.#election.leading,
      selfId: this.self.id,
      selfUrl: this.self.url,
      holder: this.#election.holder,
      unreachable,
      holderConfirmedAtMs: this.#confirmedAtMs(),
    });
  }

  #confirmedAtMs(): number | undefined {
    const holder = this.#election.holder;
    const confirmed = this.#confirmed;
    return holder && confirmed?.holder === holderKey(holder) ? confirmed.atMs : undefined;
  }

  /**
   * An agent could not reach `url`. When that is the leader the key names, it is asked whether it
   * leads (leader-probe.ts): gone or not leading, its lease is ended now, not when it expires, so
   * the next leader is elected at once; leading, the agents held for it are sent back. No answer
   * changes nothing. One probe at a time per holder.
   */
  suspect(url: string): void {
    const holder = this.#election.holder;
    if (this.#closed || this.#election.leading || !holder || holder.id === this.self.id) return;
    if (!sameServer(url, holder.url)) return;
    const key = holderKey(holder);
    if (this.#probing === key) return;
    const confirmed = this.#confirmed;
    if (confirmed?.holder === key && this.#options.now() - confirmed.atMs < CONFIRMED_FOR_MS) return;
    this.#probing = key;
    void this.#probe(holder).finally(() => {
      if (this.#probing === key) this.#probing = undefined;
    });
  }

  async #probe(holder: LeaderRecord): Promise<void> {
    const probe = this.#options.probe ?? probeLeader;
    const verdict = await probe(holder.url, this.#options.caPem()).catch(
      (error: unknown): ProbeVerdict => ({ kind: 'unknown', detail: String(error) }),
    );
    if (this.#closed) return;
    switch (verdict.kind) {
      case 'gone':
      case 'not-leading': {
        const why = verdict.kind === 'gone' ? `its port refuses connections` : 'it says it does not lead';
        this.#options.log(
          `the leader ${holder.id} is unreachable to an agent and ${why}: ending its lease ${holder.lease} now`,
        );
        await this.#election.endHolderLease(holder);
        return;
      }
      case 'leading':
        if (verdict.lease !== holder.lease) return;
        this.#confirmed = { holder: holderKey(holder), atMs: this.#options.now() };
        this.#options.onLeaderConfirmed?.();
        return;
      case 'unknown':
        this.#options.log(
          `the leader ${holder.id} is unreachable to an agent, and to this server: ${verdict.detail} (its lease decides)`,
        );
        return;
    }
  }

  /** This server's answer to a probe (`GET /ha/v1/leading`). */
  leadingAnswer(): { leading: boolean; lease: string | null } {
    const leading = this.#election.leading;
    return { leading, lease: leading ? (this.#election.leaseId ?? null) : null };
  }

  async servers(): Promise<ServerView[]> {
    // etcd out of reach (a partition, or a connection still recovering from one): what this
    // server knows, itself and the leader it last saw, rather than no answer.
    const entries: Record<string, string> = await this.#etcd
      .getAll()
      .prefix('servers/')
      .options({ deadline: Date.now() + 1000 })
      .strings()
      .catch(() => ({
        self: JSON.stringify({ id: this.self.id, url: this.self.url, started_at: this.self.startedAt }),
      }));
    const leader = this.#election.holder;
    const views: ServerView[] = [];
    // The leader is listed whatever the registry says (its entry may be between two leases).
    if (
      leader &&
      !Object.values(entries).some(
        (text) => registrationSchema.safeParse(safeJson(text)).data?.id === leader.id,
      )
    )
      views.push({
        id: leader.id,
        url: leader.url,
        leader: true,
        started_at: null,
        leader_since: new Date(leader.since).toISOString(),
      });
    for (const text of Object.values(entries)) {
      const parsed = registrationSchema.safeParse(safeJson(text));
      if (!parsed.success) continue;
      const leads = leader?.id === parsed.data.id;
      views.push({
        id: parsed.data.id,
        url: parsed.data.url,
        leader: leads,
        started_at: new Date(parsed.data.started_at).toISOString(),
        leader_since: leads && leader ? new Date(leader.since).toISOString() : null,
      });
    }
    return views.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#refresh);
    await this.#election.stop();
    await this.#registration?.revoke({ deadline: Date.now() + 1000 }).catch(() => {});
  }

  async #checkRegistration(): Promise<void> {
    if (this.#closed || this.#registering) return;
    try {
      const present = await this.#etcd
        .get(`servers/${this.self.id}`)
        .options({ deadline: Date.now() + 1000 })
        .string();
      if (present !== null) return;
      this.#options.log('this server was missing from the registry: registering again');
      this.#registration?.release();
      await this.#register();
    } catch {
      // etcd unreachable: the next check tries again.
    }
  }

  #registering = false;

  /** Puts this server's entry on a lease kept alive by etcd3; a lost lease registers again. */
  async #register(): Promise<void> {
    this.#registering = true;
    try {
      await this.#registerOnce();
    } finally {
      this.#registering = false;
    }
  }

  async #registerOnce(): Promise<void> {
    const lease = this.#etcd.lease(REGISTRY_TTL_S);
    this.#registration = lease;
    lease.on('lost', () => {
      if (this.#closed) return;
      this.#options.log('the server registration lease was lost: registering again');
      setTimeout(() => void this.#register().catch(() => {}), 500);
    });
    const self = this.self;
    await lease
      .put(`servers/${self.id}`)
      .value(JSON.stringify({ id: self.id, url: self.url, started_at: self.startedAt }));
  }
}

function holderKey(holder: LeaderRecord): string {
  return `${holder.id} ${holder.lease}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
