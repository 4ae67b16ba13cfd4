/**
 * Runs one probe of a replica: an HTTP GET (2xx/3xx is healthy), a TCP connect, or a command
 * inside the container through the engine (exit 0 is healthy). `localhost` in an endpoint means
 * the container itself, so probes go to the container's own address.
 */
import { connect } from 'node:net';
import type { ContainerEngine } from '../docker/container-engine.ts';
import { parseDurationMs, timerDelayMs } from '../model/duration.ts';
import type { HealthCheck } from '../model/service-spec.ts';
import type { ProbeResult } from './health-tracker.ts';

// node:http as Node's own module object, not an ESM import of it: an import reads every export,
// and its lazy WebSocket getters load undici (6 MB of an agent's RSS; README: the agent's footprint).
const { request } = process.getBuiltinModule('node:http');

export interface ProbeTarget {
  readonly containerId: string;
  readonly ip: string | null;
  readonly check: HealthCheck;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '0.0.0.0']);

/** Where an HTTP or TCP probe connects: the endpoint with localhost swapped for the container. */
export function probeAddress(check: HealthCheck, ip: string): { host: string; port: number; path: string } {
  if (check.endpoint) {
    const url = new URL(check.endpoint.includes('://') ? check.endpoint : `http://${check.endpoint}`);
    const host = LOCAL_HOSTS.has(url.hostname) ? ip : url.hostname;
    const port = url.port === '' ? (check.port ?? 80) : Number(url.port);
    return { host, port, path: `${url.pathname}${url.search}` || '/' };
  }
  return { host: ip, port: check.port ?? 80, path: check.path ?? '/' };
}

export async function runProbe(target: ProbeTarget, engine: ContainerEngine): Promise<ProbeResult> {
  const timeoutMs = timerDelayMs(parseDurationMs(target.check.timeout) ?? 2000);
  if (target.check.type === 'exec') {
    try {
      const { exitCode, output } = await engine.exec(
        target.containerId,
        target.check.command ?? [],
        timeoutMs,
      );
      return { ok: exitCode === 0, message: `exit ${exitCode}${output ? `: ${output.slice(0, 200)}` : ''}` };
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error) };
    }
  }
  if (target.ip === null) return { ok: false, message: 'the container has no network address' };
  const address = probeAddress(target.check, target.ip);
  return target.check.type === 'http' ? httpProbe(address, timeoutMs) : tcpProbe(address, timeoutMs);
}

function httpProbe(
  address: { host: string; port: number; path: string },
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    // A fresh connection per probe (no keep-alive agent): a probe should see what a new client sees.
    const req = request(
      {
        host: address.host,
        port: address.port,
        path: address.path,
        method: 'GET',
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 400, message: `HTTP ${status}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ ok: false, message: error.message }));
    req.end();
  });
}

function tcpProbe(address: { host: string; port: number }, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: `connected to port ${address.port}` });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, message: `connect timed out after ${timeoutMs} ms` });
    });
    socket.once('error', (error) => resolve({ ok: false, message: error.message }));
  });
}
