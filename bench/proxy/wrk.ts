/**
 * Runs Debian's `wrk` inside a network namespace (a container's or a lab host's) and reads its
 * figures: requests/s and the latency percentiles of `--latency`. With a rate, each connection
 * waits a fixed delay before its next request (a wrk Lua `delay()`), which bounds the load at
 * about `rate`; the achieved rate is reported. `parseWrk` is pure.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

const UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function ms(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match?.[1] || !match[2]) return Number.NaN;
  return Number(match[1]) * (UNITS[match[2]] ?? Number.NaN);
}

export function parseWrk(output: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
  const p50 = /^\s+50%\s+(\S+)/m.exec(output)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(output)?.[1];
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1];
  if (!rps || !p50 || !p99) throw new Error(`cannot read wrk's output:\n${output}`);
  const errors = (socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0) + Number(non2xx ?? 0);
  return { requestsPerSecond: Number(rps), p50Ms: ms(p50), p99Ms: ms(p99), errors };
}

export interface WrkLoad {
  /** `nsenter --net=` target: /proc/PID/ns/net or /var/run/netns/NAME. */
  readonly netns: string;
  readonly url: string;
  readonly connections: number;
  readonly durationS: number;
  /** Requests/s to aim at (paced); absent = as fast as it goes. */
  readonly rate?: number;
}

/** Per-connection pause at a fixed rate: wrk takes whole milliseconds. */
const PACE_DELAY_MS = 4;

export async function wrk(load: WrkLoad): Promise<WrkResult> {
  let connections = load.connections;
  const args = ['-t1', `-d${load.durationS}s`, '--latency', '--timeout', '5s'];
  if (load.rate !== undefined) {
    connections = Math.max(1, Math.round((load.rate * PACE_DELAY_MS) / 1000));
    const script = join(tmpdir(), `skiff-bench-wrk-pace-${PACE_DELAY_MS}.lua`);
    writeFileSync(script, `function delay()\n  return ${PACE_DELAY_MS}\nend\n`);
    args.push('-s', script);
  }
  args.push(`-c${connections}`, load.url);
  const { stdout } = await run('nsenter', [`--net=${load.netns}`, 'wrk', ...args], {
    timeout: (load.durationS + 30) * 1000,
  });
  return parseWrk(stdout);
}
