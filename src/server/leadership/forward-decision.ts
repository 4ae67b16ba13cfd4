/**
 * Which API requests a follower sends on to the leader, pure. Every server answers reads from
 * the store and applies writes through it; what needs an agent or the live node sessions
 * (liveness, cordon/drain/labels, logs, stats, exec) lives only where the controller runs, so
 * the follower forwards it. A request already forwarded once is never forwarded again: two
 * servers that each believe the other leads answer 503 instead of passing it back and forth.
 */

export const FORWARDED_HEADER = 'x-skiff-forwarded-by';

export type ForwardDecision =
  | { readonly kind: 'local' }
  | { readonly kind: 'forward'; readonly leaderUrl: string }
  /** It must go to the leader, and there is none to go to (an election, or a forwarding loop). */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Routes that need the leader: the node sessions, and whatever reaches an agent. */
export function needsLeader(pathname: string): boolean {
  if (pathname === '/api/nodes' || pathname.startsWith('/api/nodes/')) return true;
  if (/^\/api\/services\/[^/]+\/(logs|stats|exec)(\/|$)/.test(pathname)) return true;
  // The nodes' images live in the leader's memory, and a prune reaches agents.
  if (pathname === '/api/images' || pathname.startsWith('/api/images/')) return true;
  return pathname === '/api/stats' || pathname.startsWith('/api/stats/') || pathname.startsWith('/api/exec');
}

export function forwardDecision(input: {
  readonly pathname: string;
  readonly leading: boolean;
  readonly leaderUrl: string | undefined;
  /** The request came from another server already. */
  readonly forwarded: boolean;
}): ForwardDecision {
  if (input.leading || !needsLeader(input.pathname)) return { kind: 'local' };
  if (input.forwarded)
    return { kind: 'unavailable', reason: 'this server does not lead either (leadership is moving): retry' };
  if (input.leaderUrl === undefined)
    return { kind: 'unavailable', reason: 'no leader is elected yet (an election takes about 2 s): retry' };
  return { kind: 'forward', leaderUrl: input.leaderUrl };
}
