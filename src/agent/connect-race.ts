/**
 * The TCP half of the agent's dial, made quick to come back after a partition. A SYN sent into a
 * partition is lost, and TCP sends the next one only a second later, then three: a dial made
 * just before the network heals can sit unanswered for most of its timeout, and the agent's
 * return would wait for it. So while no attempt has connected, another starts every
 * `attemptEveryMs` (each a fresh SYN): the first to connect wins and the others are dropped. An
 * error on any attempt (a refusal: the port is closed, the network says no) ends the race at
 * once, since the answer was heard: the agent's backoff applies then, not this pace.
 */
import type { Socket } from 'node:net';

export interface ConnectRaceOptions {
  /** Starts one attempt (`net.connect`); it emits `connect` or `error`. */
  readonly dial: () => Socket;
  readonly attemptEveryMs: number;
  /** No attempt connected by then: the race fails (the server is silent). */
  readonly giveUpAfterMs: number;
}

export class ConnectSilenceError extends Error {
  override readonly name = 'ConnectSilenceError';
}

export interface ConnectRace {
  /** The first connected socket (its `connect` listeners removed: the caller's from now on). */
  readonly socket: Promise<Socket>;
  /** Drops every attempt (the agent stops); the promise rejects. */
  cancel(): void;
}

export function raceConnect(options: ConnectRaceOptions): ConnectRace {
  const attempts = new Set<Socket>();
  let every: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let settle: { win: (socket: Socket) => void; lose: (error: Error) => void } | undefined;
  const socket = new Promise<Socket>((win, lose) => {
    settle = { win, lose };
  });
  const finish = (winner: Socket | undefined, error?: Error) => {
    if (!settle) return;
    const { win, lose } = settle;
    settle = undefined;
    clearInterval(every);
    clearTimeout(deadline);
    for (const attempt of attempts) if (attempt !== winner) attempt.destroy();
    attempts.clear();
    if (winner) {
      winner.removeAllListeners('connect');
      winner.removeAllListeners('error');
      // The TLS socket over it reports errors from now on; one here must not end the process.
      winner.on('error', () => {});
      win(winner);
    } else lose(error ?? new Error('dial cancelled'));
  };
  const start = () => {
    const attempt = options.dial();
    attempts.add(attempt);
    attempt.once('connect', () => finish(attempt));
    attempt.once('error', (error) => finish(undefined, error));
  };
  start();
  every = setInterval(start, options.attemptEveryMs);
  deadline = setTimeout(
    () =>
      finish(
        undefined,
        new ConnectSilenceError(
          `no answer to ${attempts.size} connection attempt(s) within ${options.giveUpAfterMs} ms`,
        ),
      ),
    options.giveUpAfterMs,
  );
  return { socket, cancel: () => finish(undefined) };
}
