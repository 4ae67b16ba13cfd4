/**
 * The election over etcd: a lease of a short TTL (2 s by default, etcd's minimum), kept alive by
 * a keepalive every quarter TTL, each bounded by a deadline so a partition shows as a failure,
 * not a hang; the leader key, created with that lease by whoever's transaction finds it absent;
 * a watch on the key. Every fact goes through election-core.ts, which says what to do; this file
 * only does it, and tells its listener when this server starts and stops leading.
 *
 * When a leader dies its lease expires (TTL after its last keepalive) and etcd deletes the key;
 * the others see the delete on their watch and campaign at once. The key is also read again every
 * second: a watch that a partition broke can stay silent after the network heals, and a server
 * with a stale view would send agents and requests to a leader that is gone. Facts about the key
 * are applied in revision order, so a slow read never undoes a newer watch event.
 */
import type { Etcd3, Lease, Namespace } from 'etcd3';
import { EtcdLeaseInvalidError } from 'etcd3';
import type { ElectionAction, ElectionInput, ElectionState, LeaderRecord } from './election-core.ts';
import { initialElection, leaderRecordSchema, stepElection } from './election-core.ts';

export interface ElectionOptions {
  /** The cluster's keyspace (the store's namespace): the key is `leader` inside it. */
  readonly etcd: Etcd3 | Namespace;
  readonly self: { readonly id: string; readonly url: string };
  readonly ttlMs?: number;
  readonly now: () => number;
  readonly log: (message: string) => void;
  readonly onLeading: (since: number) => void;
  readonly onFollowing: (reason: string) => void;
  /** Whenever who leads changes (undefined: nobody, for now). */
  readonly onHolder?: (holder: LeaderRecord | undefined) => void;
}

export const LEADER_KEY = 'leader';
export const DEFAULT_LEASE_TTL_MS = 2000;
/** How often the lease's validity is checked against the clock. */
const TICK_MS = 50;
/** How soon a lease revoke that failed is tried again. */
const REVOKE_RETRY_MS = 100;
/** How often the leader key is read again, besides the watch. */
const REREAD_MS = 1000;

export class EtcdElection {
  readonly #options: ElectionOptions;
  readonly #ttlMs: number;
  #state: ElectionState;
  #lease: Lease | undefined;
  #leaseId: string | undefined;
  #timers: NodeJS.Timeout[] = [];
  #watcher: { cancel(): Promise<void> } | undefined;
  #stopped = false;
  #granting = false;

  constructor(options: ElectionOptions) {
    this.#options = options;
    this.#ttlMs = Math.max(2000, options.ttlMs ?? DEFAULT_LEASE_TTL_MS);
    this.#state = initialElection(options.self.id);
  }

  get leading(): boolean {
    return this.#state.leading;
  }

  /** Who holds the leader key, as last seen. */
  get holder(): LeaderRecord | undefined {
    return this.#state.holder;
  }

  /** The lease the leader key is held with while this server leads (the write guard compares it). */
  get leaseId(): string | undefined {
    return this.#leaseId;
  }

  async start(): Promise<void> {
    const watcher = await this.#options.etcd.watch().key(LEADER_KEY).create();
    watcher.on('put', (kv) => this.#holderAt(Number(kv.mod_revision), parseRecord(kv.value)));
    watcher.on('delete', (kv) => this.#holderAt(Number(kv.mod_revision), undefined));
    watcher.on('error', (error) => this.#options.log(`leader watch: ${error.message}`));
    this.#watcher = watcher;
    await this.#read();
    await this.#grant();
    this.#timers.push(setInterval(() => this.#input({ kind: 'tick' }), TICK_MS));
    this.#timers.push(setInterval(() => void this.#keepalive(), this.#ttlMs / 4));
    this.#timers.push(setInterval(() => void this.#read().catch(() => {}), REREAD_MS));
  }

  /** The revision of the newest fact about the key applied so far. */
  #holderRevision = 0;

  #holderAt(revision: number, holder: LeaderRecord | undefined): void {
    if (revision < this.#holderRevision) return;
    this.#holderRevision = revision;
    this.#input({ kind: 'holder', holder });
  }

  async #read(): Promise<void> {
    const answer = await withDeadline(
      this.#options.etcd.get(LEADER_KEY).exec(),
      this.#ttlMs / 2,
      'leader read',
    );
    const kv = answer.kvs[0];
    this.#holderAt(Number(answer.header.revision), kv ? parseRecord(kv.value) : undefined);
  }

  /**
   * Ends the lease the leader key is held under, as its expiry would, once that holder is known
   * to be gone or to have stepped down (leader-probe.ts): etcd deletes the key with the lease, and
   * every server campaigns at once instead of waiting out the TTL. Nothing happens when the key
   * names another holder or lease by now. True when etcd revoked the lease.
   */
  async endHolderLease(holder: LeaderRecord): Promise<boolean> {
    const current = this.#state.holder;
    if (this.#stopped || current?.id !== holder.id || current.lease !== holder.lease) return false;
    if (holder.id === this.#options.self.id) return false;
    // Retried for a while: a server just healed from a partition finds its etcd connections'
    // circuit breakers open for up to a second (src/store/etcd/etcd-client.ts).
    const giveUpAt = this.#options.now() + this.#ttlMs / 2;
    for (;;) {
      try {
        await withDeadline(
          this.#options.etcd.leaseClient.leaseRevoke({ ID: holder.lease }),
          this.#ttlMs / 2,
          'lease revoke',
        );
        break;
      } catch (error) {
        const again = this.#state.holder;
        const same = again?.id === holder.id && again.lease === holder.lease;
        // Already gone (expired meanwhile: "lease not found"), or etcd out of reach: the TTL decides.
        if (
          error instanceof EtcdLeaseInvalidError ||
          !same ||
          this.#stopped ||
          this.#options.now() >= giveUpAt
        ) {
          this.#options.log(`ending the lease of server ${holder.id}: ${messageOf(error)}`);
          return false;
        }
        await new Promise((done) => setTimeout(done, REVOKE_RETRY_MS));
      }
    }
    // The watch says so too; a read now spares its latency before campaigning.
    await this.#read().catch(() => {});
    return true;
  }

  /** Steps down (the key goes with the lease, so another server takes over at once). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    const wasLeading = this.#state.leading;
    this.#state = { ...this.#state, leading: false };
    if (wasLeading) this.#options.onFollowing('this server is stopping');
    await this.#watcher?.cancel().catch(() => {});
    await this.#lease?.revoke({ deadline: Date.now() + 1000 }).catch(() => {});
  }

  #input(input: ElectionInput): void {
    if (this.#stopped) return;
    const before = this.#state.holder;
    const step = stepElection(this.#state, input, this.#options.now());
    this.#state = step.state;
    // Leading starts (its duties: the nodes reloaded, the controller resumed) before anyone hears
    // the holder changed: the gateway serves the agents it holds when told, and a node reload
    // after that would close their fresh sessions.
    for (const action of step.actions) this.#act(action);
    if (before?.id !== step.state.holder?.id || before?.since !== step.state.holder?.since)
      this.#options.onHolder?.(step.state.holder);
  }

  #act(action: ElectionAction): void {
    switch (action.kind) {
      case 'campaign':
        void this.#campaign();
        return;
      case 'grant-lease':
        void this.#grant();
        return;
      case 'start-leading':
        this.#options.log(`this server leads now (lease ${this.#leaseId})`);
        this.#options.onLeading(action.since);
        return;
      case 'stop-leading':
        this.#options.log(`this server stopped leading: ${action.reason}`);
        this.#options.onFollowing(action.reason);
        return;
    }
  }

  async #grant(): Promise<void> {
    if (this.#granting || this.#stopped) return;
    this.#granting = true;
    try {
      for (;;) {
        const sentAtMs = this.#options.now();
        try {
          const lease = this.#options.etcd.lease(this.#ttlMs / 1000, { autoKeepAlive: false });
          lease.on('lost', () => {});
          const id = await withDeadline(lease.grant(), this.#ttlMs / 2, 'lease grant');
          this.#lease = lease;
          this.#leaseId = id;
          this.#input({ kind: 'lease-granted', id, sentAtMs, ttlMs: this.#ttlMs });
          return;
        } catch (error) {
          this.#options.log(`etcd lease grant failed: ${messageOf(error)}`);
          if (this.#stopped) return;
          await new Promise((done) => setTimeout(done, 250));
        }
      }
    } finally {
      this.#granting = false;
    }
  }

  async #keepalive(): Promise<void> {
    const lease = this.#lease;
    if (!lease || this.#granting || this.#stopped) return;
    const sentAtMs = this.#options.now();
    try {
      const answer = await withDeadline(lease.keepaliveOnce(), this.#ttlMs / 4, 'lease keepalive');
      if (lease !== this.#lease || this.#leaseId === undefined) return;
      const ttlMs = Number(answer.TTL) * 1000;
      this.#input({ kind: 'keepalive', id: this.#leaseId, sentAtMs, ttlMs });
    } catch (error) {
      if (lease !== this.#lease) return;
      // An expired lease is final; a slow or failed keepalive is not yet (the clock decides),
      // unless it has failed for so long that etcd has surely expired the lease (a partition).
      const validUntil = this.#state.lease?.validUntilMs ?? 0;
      const surelyExpired = this.#options.now() > validUntil + this.#ttlMs;
      if (error instanceof EtcdLeaseInvalidError || surelyExpired) {
        this.#lease = undefined;
        this.#leaseId = undefined;
        this.#input({ kind: 'lease-lost' });
      }
    }
  }

  async #campaign(): Promise<void> {
    const leaseId = this.#leaseId;
    let record: LeaderRecord | undefined;
    let won = false;
    let holder: LeaderRecord | undefined;
    try {
      if (leaseId === undefined) throw new Error('no lease');
      record = { ...this.#options.self, since: this.#options.now(), lease: leaseId };
      const etcd = this.#options.etcd;
      const result = await withDeadline(
        etcd
          .if(LEADER_KEY, 'Create', '==', 0)
          .then(etcd.put(LEADER_KEY).value(JSON.stringify(record)).lease(leaseId))
          .else(etcd.get(LEADER_KEY))
          .commit(),
        this.#ttlMs / 2,
        'campaign',
      );
      won = result.succeeded;
      // What the transaction saw is as new as its revision: an older read must not undo it.
      this.#holderRevision = Math.max(this.#holderRevision, Number(result.header.revision));
      if (won) holder = record;
      else {
        const kv = result.responses[0]?.response_range?.kvs[0];
        holder = kv ? parseRecord(kv.value) : undefined;
      }
    } catch (error) {
      this.#options.log(`campaign failed: ${messageOf(error)}`);
    }
    // A campaign that got no answer is retried by a later tick (election-core.ts).
    this.#input({ kind: 'campaign-done', won, holder });
  }
}

function parseRecord(value: Buffer): LeaderRecord | undefined {
  try {
    const parsed = leaderRecordSchema.safeParse(JSON.parse(value.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class EtcdDeadlineError extends Error {
  override readonly name = 'EtcdDeadlineError';
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new EtcdDeadlineError(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
