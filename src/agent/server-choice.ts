/**
 * Which server an agent dials next, and after how long: pure. An agent knows every server
 * (`--server URL1,URL2,URL3`); only the leader keeps agents, and a follower names it when it
 * closes (protocol/messages.ts `notLeader`), and one that knows no leader yet holds the
 * connection until an election names one. So: a redirect is followed at once; a server that is
 * gone makes the agent try the next one in its list, at once for the first pass over the list
 * (the failed server's own redial included: alone in its list, an agent dials again at once) and
 * then with the dropped-connection backoff per full round, so a leader's death costs one
 * election, not a backoff.
 */
import { reconnectDelayMs } from './reconnect-delay.ts';

export interface ServerChoice {
  readonly urls: readonly string[];
  /** The server of the list dialled last. */
  readonly index: number;
  /** A leader's URL a follower named: dialled next, instead of the list's. */
  readonly redirect: string | undefined;
  /** Failed dials since the last connection that was kept (a welcome). */
  readonly misses: number;
  /** Redirects followed since the last welcome. */
  readonly redirects: number;
  /**
   * The server whose connection failed last, since the last welcome: told to the next server
   * (`?unreachable=`), which then holds the agent rather than naming that server as the leader
   * again while its key waits out the lease (agent-admission.ts).
   */
  readonly unreachable: string | undefined;
}

export type DialOutcome =
  /** Welcomed: this server keeps us. */
  | { readonly kind: 'welcomed' }
  /** A follower named the leader. */
  | { readonly kind: 'redirected'; readonly leaderUrl: string }
  /**
   * A follower knows no leader yet, or the server that served us stepped down (`served`): that
   * one is left at once, as a server that died would be; a follower that held us in vain waited
   * for an election already, and is left after a pause.
   */
  | { readonly kind: 'no-leader'; readonly served?: boolean }
  /**
   * The connection failed or dropped. `waitedMs`: how long the failed dial itself waited for an
   * answer (a silent server): the delay before the next dial counts from the dial's start.
   */
  | { readonly kind: 'failed'; readonly waitedMs?: number };

/** Redirects followed in a row before the agent treats them as failures (a loop between two servers). */
export const MAX_REDIRECTS = 3;
/** After a server with no leader, the pause before the next dial: an election takes about a lease TTL. */
export const NO_LEADER_RETRY_MS = 100;

export class NoServerError extends Error {
  override readonly name = 'NoServerError';
}

export function firstChoice(urls: readonly string[]): ServerChoice {
  if (urls.length === 0) throw new NoServerError('no server URL given');
  return { urls, index: 0, redirect: undefined, misses: 0, redirects: 0, unreachable: undefined };
}

/** The URL to dial now. */
export function currentServer(choice: ServerChoice): string {
  return choice.redirect ?? choice.urls[choice.index] ?? choice.urls[0] ?? '';
}

/** What to dial after `outcome`, and how long to wait first (ms). */
export function nextChoice(
  choice: ServerChoice,
  outcome: DialOutcome,
): { readonly choice: ServerChoice; readonly delayMs: number } {
  const count = choice.urls.length;
  switch (outcome.kind) {
    case 'welcomed':
      // Keep the server that keeps us; a redirect target stays current until it fails.
      return { choice: { ...choice, misses: 0, redirects: 0, unreachable: undefined }, delayMs: 0 };
    case 'redirected': {
      const redirects = choice.redirects + 1;
      const excess = redirects - MAX_REDIRECTS * count;
      if (excess > 0) {
        const next = advance({ ...choice, redirects }, choice.misses + 1);
        return { choice: next.choice, delayMs: reconnectDelayMs('dropped', excess) };
      }
      const known = choice.urls.indexOf(outcome.leaderUrl);
      return {
        choice: {
          ...choice,
          index: known >= 0 ? known : choice.index,
          redirect: known >= 0 ? undefined : outcome.leaderUrl,
          redirects,
        },
        delayMs: 0,
      };
    }
    case 'no-leader': {
      // A live follower that waited for an election and saw none: not a failure of the agent's,
      // so it does not grow the backoff.
      // Named to the next server as unreachable: it cannot lead us, and if the key still names
      // it (a leader that just stepped down) the next one must hold us, not send us back.
      const next = advance({ ...choice, unreachable: currentServer(choice) }, choice.misses);
      return {
        choice: { ...next.choice, misses: choice.misses },
        delayMs: outcome.served === true ? 0 : NO_LEADER_RETRY_MS,
      };
    }
    case 'failed': {
      const next = advance({ ...choice, unreachable: currentServer(choice) }, choice.misses + 1);
      return { choice: next.choice, delayMs: Math.max(0, next.delayMs - (outcome.waitedMs ?? 0)) };
    }
  }
}

/** The next server of the list: at once within the first round, then backing off per round. */
function advance(choice: ServerChoice, misses: number) {
  const count = choice.urls.length;
  // A failed redirect target hands back to the list where it was left.
  const index = choice.redirect !== undefined ? choice.index : (choice.index + 1) % count;
  // Rounds completed over the list, the failed server's own redial included in the first: a
  // dropped connection is dialled again at once (a server that restarted, a connection the agent
  // gave up on while the network was out), and only a server that fails that too backs off.
  const rounds = Math.floor(Math.max(0, misses - 1) / count);
  return {
    choice: { ...choice, index, redirect: undefined, misses },
    delayMs: rounds === 0 ? 0 : reconnectDelayMs('dropped', rounds),
  };
}

/** `--server URL1,URL2`: the URLs, trimmed, without empties or repeats. */
export function parseServerList(text: string): string[] {
  const urls = text
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter((url) => url !== '');
  return [...new Set(urls)];
}

/** The agent's WebSocket URL for `server`, saying which server it could not reach. */
export function dialUrl(choice: ServerChoice, path: string): URL {
  const url = new URL(path, currentServer(choice).replace(/^http/, 'ws'));
  if (choice.unreachable !== undefined) url.searchParams.set('unreachable', choice.unreachable);
  return url;
}
