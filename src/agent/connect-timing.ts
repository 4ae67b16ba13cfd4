/**
 * Two lines of the agent's log that time its (re)start, written by the agent and read back by
 * bench:failover to split a host's return into its steps: when `skiff agent` finished starting,
 * counted from its process's start (and when its modules were loaded), and each connection's
 * TCP and TLS halves (a full mutual-TLS handshake, or a resumed session). Pure.
 */

export interface StartTiming {
  /** Process start → the agent started (engine read, host checked, saved assignment restored). */
  readonly startedMs: number;
  /** Process start → this command's modules loaded. */
  readonly modulesMs: number;
}

export interface ConnectTiming {
  /** host:port dialled. */
  readonly server: string;
  /** The dial → TCP connected (the connect race, connect-race.ts). */
  readonly tcpMs: number;
  /** TCP connected → TLS handshake done. */
  readonly tlsMs: number;
  readonly resumed: boolean;
}

export function startedLine(timing: StartTiming, servers: string): string {
  return `skiff agent started ${timing.startedMs} ms after its process (modules loaded at ${timing.modulesMs} ms), server ${servers}`;
}

export function connectedLine(timing: ConnectTiming): string {
  return `connected to ${timing.server} over mutual TLS in ${timing.tlsMs} ms (${timing.resumed ? 'session resumed' : 'full handshake'}; TCP ${timing.tcpMs} ms)`;
}

const STARTED = /skiff agent started (\d+) ms after its process \(modules loaded at (\d+) ms\)/;
const CONNECTED =
  /connected to (\S+) over mutual TLS in (\d+) ms \((session resumed|full handshake); TCP (\d+) ms\)/;

/** The start timing a log line (any format: text or JSON) carries, if it is that line. */
export function readStartedLine(line: string): StartTiming | undefined {
  const match = STARTED.exec(line);
  if (!match) return undefined;
  return { startedMs: Number(match[1]), modulesMs: Number(match[2]) };
}

export function readConnectedLine(line: string): ConnectTiming | undefined {
  const match = CONNECTED.exec(line);
  if (!match?.[1]) return undefined;
  return {
    server: match[1],
    tlsMs: Number(match[2]),
    resumed: match[3] === 'session resumed',
    tcpMs: Number(match[4]),
  };
}
