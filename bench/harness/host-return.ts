/**
 * Where a lab host's return goes, for bench:failover: the host's engine answering again, its
 * agent's process launched, the agent's own timings read back from its log (src/agent/
 * connect-timing.ts: process start → modules loaded → started; each connection's TCP and TLS
 * halves), and the server's "Node X is ready" (hello accepted). All clocks are this machine's.
 *
 * `HostReturnWatch` polls, from the moment the host is brought back, the engine's `/_ping` and the
 * agent's PID file every 10 ms (a killed host's agent.pid is removed by lab.sh and written again
 * when the new agent is launched); `agentReturn` reads the agent's log lines since then.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { readConnectedLine, readStartedLine } from '../../src/agent/connect-timing.ts';

const POLL_MS = 10;
const PING_TIMEOUT_MS = 500;

/** The engine at `socketPath` answers `GET /_ping` with 200. */
function pings(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: PING_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface Observed {
  /** The engine answered again (epoch ms); undefined when it was not watched or never did. */
  readonly engineUpAt: number | undefined;
  /** The agent's PID file appeared (lab.sh launched it). */
  readonly launchedAt: number | undefined;
}

export class HostReturnWatch {
  #stopped = false;
  #engineUpAt: number | undefined;
  #launchedAt: number | undefined;
  readonly #polling: Promise<void>;

  /** A killed host's return: its engine and agent were both down. */
  constructor(socketPath: string, agentLogPath: string) {
    const pidFile = join(dirname(agentLogPath), 'agent.pid');
    this.#polling = (async () => {
      while (!this.#stopped && (this.#launchedAt === undefined || this.#engineUpAt === undefined)) {
        if (this.#engineUpAt === undefined && (await pings(socketPath))) this.#engineUpAt = Date.now();
        if (this.#launchedAt === undefined && existsSync(pidFile)) this.#launchedAt = Date.now();
        // Unref'd: a trial that fails before stop() must not keep the bench alive.
        await new Promise<void>((resolve) => setTimeout(resolve, POLL_MS).unref());
      }
    })();
  }

  async stop(): Promise<Observed> {
    this.#stopped = true;
    await this.#polling;
    return { engineUpAt: this.#engineUpAt, launchedAt: this.#launchedAt };
  }
}

export interface AgentReturn {
  /** The agent's process began (its start line's time − its own count). */
  readonly processStartAt: number | undefined;
  readonly modulesAt: number | undefined;
  readonly startedAt: number | undefined;
  /** The first connection since: TCP connected, TLS done, and how. */
  readonly tcpAt: number | undefined;
  readonly tlsAt: number | undefined;
  readonly tlsMs: number | undefined;
  readonly resumed: boolean | undefined;
  /** The agent read the server's welcome (`registered as …`). */
  readonly welcomedAt: number | undefined;
}

/** The agent's timings from its text log, lines logged at or after `sinceMs` (epoch ms). */
export function agentReturn(logText: string, sinceMs: number): AgentReturn {
  let started: { at: number; startedMs: number; modulesMs: number } | undefined;
  let connected: { at: number; tlsMs: number; resumed: boolean } | undefined;
  let welcomedAt: number | undefined;
  for (const line of logText.split('\n')) {
    // Text records start with their RFC 3339 time (log-line.ts); lab.sh's markers do not.
    const at = Date.parse(line.slice(0, line.indexOf(' ')));
    if (!Number.isFinite(at) || at < sinceMs) continue;
    const start = readStartedLine(line);
    if (start && !started) started = { at, ...start };
    const connect = readConnectedLine(line);
    if (connect && !connected) connected = { at, tlsMs: connect.tlsMs, resumed: connect.resumed };
    if (welcomedAt === undefined && connected && /\bregistered as \S+/.test(line)) welcomedAt = at;
  }
  const processStartAt = started ? started.at - started.startedMs : undefined;
  return {
    processStartAt,
    modulesAt: started && processStartAt !== undefined ? processStartAt + started.modulesMs : undefined,
    startedAt: started?.at,
    tcpAt: connected ? connected.at - connected.tlsMs : undefined,
    tlsAt: connected?.at,
    tlsMs: connected?.tlsMs,
    resumed: connected?.resumed,
    welcomedAt,
  };
}

export function readAgentReturn(agentLogPath: string, sinceMs: number): AgentReturn {
  return agentReturn(readFileSync(agentLogPath, 'utf8'), sinceMs);
}

/** One trial's return, each step's time from the host back (ms). */
export interface ReturnSplit {
  readonly kind: string;
  readonly engineUpMs: number | undefined;
  readonly launchedMs: number | undefined;
  readonly processStartMs: number | undefined;
  readonly modulesMs: number | undefined;
  readonly startedMs: number | undefined;
  readonly tcpMs: number | undefined;
  readonly tlsDoneMs: number | undefined;
  /** The handshake alone (TCP connected → TLS done). */
  readonly tlsMs: number | undefined;
  readonly resumed: boolean | undefined;
  /** The server's "Node X is ready": the hello accepted. */
  readonly readyMs: number | undefined;
  /** The whole return: N replicas running, the returning host's stale ones stopped. */
  readonly restoredMs: number;
}

export function returnSplit(
  kind: string,
  backAt: number,
  observed: Observed,
  agent: AgentReturn,
  readyAt: number | undefined,
  restoredMs: number,
): ReturnSplit {
  const since = (at: number | undefined) => (at === undefined ? undefined : at - backAt);
  return {
    kind,
    engineUpMs: since(observed.engineUpAt),
    launchedMs: since(observed.launchedAt),
    processStartMs: since(agent.processStartAt),
    modulesMs: since(agent.modulesAt),
    startedMs: since(agent.startedAt),
    tcpMs: since(agent.tcpAt),
    tlsDoneMs: since(agent.tlsAt),
    tlsMs: agent.tlsMs,
    resumed: agent.resumed,
    readyMs: since(readyAt),
    restoredMs,
  };
}

/** The steps in their order; each is timed from the latest earlier one a trial saw. */
const STEPS: readonly (readonly [string, keyof ReturnSplit])[] = [
  ['back → engine answers', 'engineUpMs'],
  ['→ agent launched (lab.sh)', 'launchedMs'],
  ['→ its process started', 'processStartMs'],
  ['→ modules loaded', 'modulesMs'],
  ['→ agent started', 'startedMs'],
  ['→ TCP connected', 'tcpMs'],
  ['→ TLS handshake done', 'tlsDoneMs'],
  ['→ hello accepted (node ready)', 'readyMs'],
  ['→ restored (stale replicas stopped)', 'restoredMs'],
];

/**
 * Medians, per kind, of each step (from the one before it that was seen) and of the time from the
 * host back, and the TLS handshake's share of the whole return.
 */
export function returnReport(
  splits: readonly ReturnSplit[],
  median: (values: readonly number[]) => number,
): { header: string[]; rows: string[][]; notes: string[] } {
  const kinds = [...new Set(splits.map((s) => s.kind))];
  const fmt = (v: number | undefined) =>
    v === undefined || !Number.isFinite(v) ? '-' : String(Math.round(v));
  const med = (values: readonly (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    return known.length === 0 ? undefined : median(known);
  };
  const value = (s: ReturnSplit, key: keyof ReturnSplit) => {
    const v = s[key];
    return typeof v === 'number' ? v : undefined;
  };
  const rows = STEPS.map(([title, key], index) => {
    const cells = [title];
    for (const kind of kinds) {
      const mine = splits.filter((s) => s.kind === kind);
      // A partition's return has no engine or process start: its first step counts from the heal.
      const step = mine.map((s) => {
        const end = value(s, key);
        if (end === undefined) return undefined;
        const earlier = STEPS.slice(0, index)
          .map(([, k]) => value(s, k))
          .filter((v): v is number => v !== undefined);
        return end - (earlier.at(-1) ?? 0);
      });
      cells.push(fmt(med(step)), fmt(med(mine.map((s) => value(s, key)))));
    }
    return cells;
  });
  const notes = kinds.map((kind) => {
    const mine = splits.filter((s) => s.kind === kind);
    const tls = med(mine.map((s) => s.tlsMs));
    const restored = med(mine.map((s) => s.restoredMs));
    const resumed = mine.filter((s) => s.resumed === true).length;
    const shares = mine
      .filter((s) => s.tlsMs !== undefined)
      .map((s) => (s.restoredMs > 0 ? (s.tlsMs ?? 0) / s.restoredMs : Number.NaN));
    const share = med(shares);
    const withoutTls = med(mine.map((s) => (s.tlsMs === undefined ? undefined : s.restoredMs - s.tlsMs)));
    return (
      `${kind}: TLS handshake ${fmt(tls)} ms median (${resumed} of ${mine.length} resumed, the rest full), ` +
      `${share === undefined ? '-' : `${(share * 100).toFixed(1)}%`} of the return (${fmt(restored)} ms); ` +
      `the same trials without it ${fmt(withoutTls)} ms: ratio ${
        restored !== undefined && withoutTls !== undefined && withoutTls > 0
          ? (restored / withoutTls).toFixed(3)
          : '-'
      }×`
    );
  });
  const header = ['step (median ms)', ...kinds.flatMap((k) => [`${k}: step`, `${k}: since back`])];
  return { header, rows, notes };
}
