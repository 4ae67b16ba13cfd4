/**
 * Whether a server serves a connecting agent, pure: with several servers only the leader does
 * (liveness, assignments and logs live where the controller runs). A follower names the leader,
 * or holds the connection while nobody leads (an election is under way).
 */
import type { LeaderRecord } from './election-core.ts';

export type AgentAdmission =
  /** Serve it; `selfUrl` is where this server is reached (held agents are sent there). */
  | { readonly kind: 'accept'; readonly selfUrl?: string }
  | { readonly kind: 'redirect'; readonly url: string }
  | { readonly kind: 'hold' }
  /** Send it away at once: this server knows of no leader but a past self (cut off from etcd?). */
  | { readonly kind: 'refuse' };

export function agentAdmission(input: {
  readonly leading: boolean;
  readonly selfId: string;
  readonly selfUrl: string;
  readonly holder: LeaderRecord | undefined;
  /**
   * The server the agent just failed to reach (its dial says so): most likely a leader that died
   * while its key waits out the lease. Sending the agent back there would only bounce it, so the
   * connection is held until the key names another leader, or the same server elected anew
   * after the agent arrived (`arrivedAtMs`, this server's clock).
   */
  readonly unreachable?: { readonly url: string; readonly arrivedAtMs: number } | undefined;
  /**
   * When the holder last answered a probe that it leads (leader-probe.ts; this server's clock):
   * an agent that arrived before that answer only lost its own way there, and is sent back.
   */
  readonly holderConfirmedAtMs?: number | undefined;
}): AgentAdmission {
  if (input.leading) return { kind: 'accept', selfUrl: input.selfUrl };
  if (input.holder === undefined) return { kind: 'hold' };
  // The key still names this server after it stepped down: its lease has not expired in etcd
  // yet, or this server is cut off from etcd and will not hear who leads next. Either way no
  // leader to send anyone to, nor to wait for here: the agent tries another server.
  if (input.holder.id === input.selfId) return { kind: 'refuse' };
  const gone = input.unreachable;
  const confirmed = input.holderConfirmedAtMs;
  if (
    gone &&
    sameServer(gone.url, input.holder.url) &&
    input.holder.since <= gone.arrivedAtMs &&
    !(confirmed !== undefined && confirmed >= gone.arrivedAtMs)
  )
    return { kind: 'hold' };
  return { kind: 'redirect', url: input.holder.url };
}

export function sameServer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}
