/**
 * The election's decisions, pure: what a server does when etcd tells it who holds the leader key,
 * when its own campaign ends, when a lease keepalive comes back, and as time passes. The I/O
 * (etcd3's lease, transaction and watch) lives in etcd-election.ts; this file never awaits.
 *
 * Safety comes from two things: the store's write guard (a leader's writes compare the leader
 * key, so a server that no longer holds it cannot write, whatever it believes), and this core
 * stepping down on its own clock: a leader acts only while its lease is surely alive, which is
 * until the send time of its last answered keepalive plus the TTL etcd granted, less a margin. A
 * paused or partitioned leader therefore stops acting before its lease can expire in etcd, and
 * so before another server can win.
 */
import { z } from 'zod';

/** What the leader key holds: who leads, where its API is, and since when (epoch ms). */
export const leaderRecordSchema = z.object({
  id: z.string().min(1).max(200),
  url: z.url().max(2000),
  since: z.number().int().nonnegative(),
  /** The lease the key was taken with (decimal): the key is ours only under our current lease. */
  lease: z.string().max(40),
});
export type LeaderRecord = z.infer<typeof leaderRecordSchema>;

export interface ElectionState {
  readonly self: string;
  /** Who holds the leader key, as last seen in etcd (undefined: nobody). */
  readonly holder: LeaderRecord | undefined;
  /** Our lease, and until when it is surely alive (epoch ms); undefined while we have none. */
  readonly lease: { readonly id: string; readonly validUntilMs: number } | undefined;
  /** Whether this server acts as the leader now (runs the controller, takes agents). */
  readonly leading: boolean;
  /** A campaign is in flight (one at a time). */
  readonly campaigning: boolean;
  /** After a campaign that failed (etcd unreachable), none before this time (epoch ms). */
  readonly campaignNotBeforeMs: number;
}

export type ElectionInput =
  | { readonly kind: 'holder'; readonly holder: LeaderRecord | undefined }
  | { readonly kind: 'lease-granted'; readonly id: string; readonly sentAtMs: number; readonly ttlMs: number }
  | { readonly kind: 'keepalive'; readonly id: string; readonly sentAtMs: number; readonly ttlMs: number }
  /** etcd said the lease is gone (expired, revoked), or it could not be renewed in time. */
  | { readonly kind: 'lease-lost' }
  | { readonly kind: 'campaign-done'; readonly won: boolean; readonly holder: LeaderRecord | undefined }
  | { readonly kind: 'tick' };

export type ElectionAction =
  /** Try to take the leader key with our lease (a transaction: create it if absent). */
  | { readonly kind: 'campaign' }
  /** Ask etcd for a new lease (the old one is gone). */
  | { readonly kind: 'grant-lease' }
  | { readonly kind: 'start-leading'; readonly since: number }
  | { readonly kind: 'stop-leading'; readonly reason: string };

export interface ElectionStep {
  readonly state: ElectionState;
  readonly actions: readonly ElectionAction[];
}

/** Safety margin under the lease TTL: clocks run at slightly different rates, timers fire late. */
export const LEASE_MARGIN_MS = 300;
/** How long after a failed campaign (no answer) the next one waits. */
export const CAMPAIGN_RETRY_MS = 200;

export function initialElection(self: string): ElectionState {
  return {
    self,
    holder: undefined,
    lease: undefined,
    leading: false,
    campaigning: false,
    campaignNotBeforeMs: 0,
  };
}

/** Until when a lease renewed by a keepalive sent at `sentAtMs` is surely alive. */
export function leaseValidUntil(sentAtMs: number, ttlMs: number): number {
  return sentAtMs + Math.max(0, ttlMs - LEASE_MARGIN_MS);
}

export function stepElection(state: ElectionState, input: ElectionInput, nowMs: number): ElectionStep {
  const actions: ElectionAction[] = [];
  let next: ElectionState = state;
  switch (input.kind) {
    case 'holder':
      next = { ...state, holder: input.holder };
      break;
    case 'lease-granted':
      next = {
        ...state,
        lease: { id: input.id, validUntilMs: leaseValidUntil(input.sentAtMs, input.ttlMs) },
      };
      break;
    case 'keepalive':
      // An answer about a lease we already replaced says nothing about the current one.
      if (state.lease?.id === input.id)
        next = {
          ...state,
          lease: { id: input.id, validUntilMs: leaseValidUntil(input.sentAtMs, input.ttlMs) },
        };
      break;
    case 'lease-lost':
      next = { ...state, lease: undefined };
      actions.push({ kind: 'grant-lease' });
      break;
    case 'campaign-done':
      next = {
        ...state,
        campaigning: false,
        holder: input.won || input.holder ? input.holder : state.holder,
        campaignNotBeforeMs: input.won || input.holder ? 0 : nowMs + CAMPAIGN_RETRY_MS,
      };
      break;
    case 'tick':
      break;
  }
  return settle(next, actions, nowMs);
}

/** From any state: lead exactly when we hold the key with a live lease; campaign when nobody does. */
function settle(state: ElectionState, actions: ElectionAction[], nowMs: number): ElectionStep {
  const leaseAlive = state.lease !== undefined && nowMs < state.lease.validUntilMs;
  const holdsKey = state.holder?.id === state.self && state.holder.lease === state.lease?.id;
  let next = state;
  if (state.leading && !(leaseAlive && holdsKey)) {
    const reason = !leaseAlive
      ? state.lease === undefined
        ? 'the lease is gone'
        : 'the lease could not be renewed in time'
      : `${state.holder ? `server ${state.holder.id}` : 'nobody'} holds the leader key`;
    next = { ...next, leading: false };
    actions.push({ kind: 'stop-leading', reason });
  } else if (!state.leading && leaseAlive && holdsKey && state.holder) {
    next = { ...next, leading: true };
    actions.push({ kind: 'start-leading', since: state.holder.since });
  }
  // Nobody holds the key: take it. (Our own key under a lease we no longer trust expires in etcd
  // soon, and the watch says so; then we campaign with the new lease.)
  if (!next.campaigning && next.holder === undefined && leaseAlive && nowMs >= next.campaignNotBeforeMs) {
    next = { ...next, campaigning: true };
    actions.push({ kind: 'campaign' });
  }
  return { state: next, actions };
}
