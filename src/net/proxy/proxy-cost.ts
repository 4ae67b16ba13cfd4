/**
 * Measures what the HTTP proxy costs: the same closed-loop load (N concurrent keep-alive
 * clients, each sending its next GET when the last answer arrives) first straight at a backend,
 * then through a service proxy in front of it, reporting requests/s and latency percentiles for
 * both. Backend and proxy run in their own threads; every phase is bounded in time and count.
 * Figures are for printing and for the rollout benchmark, not for asserting.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { CostWorkerData } from './proxy-cost-worker.ts';

export interface ProxyCostOptions {
  /** Measured time per phase. Default 5000 ms. */
  readonly durationMs?: number;
  /** Unmeasured time per phase first, so sockets and JIT are warm. Default 500 ms. */
  readonly warmupMs?: number;
  /** Concurrent keep-alive clients. Default 50. */
  readonly concurrency?: number;
  /** Upper bound on requests per phase, whatever the duration. Default 2,000,000. */
  readonly maxRequests?: number;
  /** Which HTTP proxy is measured: the built-in (default) or the agent's own HAProxy. */
  readonly proxy?: 'builtin' | 'haproxy';
}

export interface LoadFigures {
  readonly requests: number;
  readonly errors: number;
  readonly durationMs: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface ProxyCost {
  readonly proxy: 'builtin' | 'haproxy';
  readonly concurrency: number;
  readonly direct: LoadFigures;
  readonly proxied: LoadFigures;
  /** proxied / direct requests per second. */
  readonly throughputRatio: number;
  /** proxied p99 − direct p99. */
  readonly addedP99Ms: number;
}

export async function measureProxyCost(options: ProxyCostOptions = {}): Promise<ProxyCost> {
  const durationMs = options.durationMs ?? 5000;
  const warmupMs = options.warmupMs ?? 500;
  const concurrency = options.concurrency ?? 50;
  const maxRequests = options.maxRequests ?? 2_000_000;
  const backend = await startWorker({ role: 'backend' });
  try {
    const which = options.proxy ?? 'builtin';
    const proxy = await startWorker({
      role: 'proxy',
      backends: [{ id: 'cost-backend', host: '127.0.0.1', port: backend.port }],
      proxy: which,
    });
    try {
      const phase = async (port: number) => {
        await runLoad(port, concurrency, warmupMs, maxRequests);
        return runLoad(port, concurrency, durationMs, maxRequests);
      };
      const direct = await phase(backend.port);
      const proxied = await phase(proxy.port);
      return {
        proxy: which,
        concurrency,
        direct,
        proxied,
        throughputRatio:
          direct.requestsPerSecond === 0 ? 0 : proxied.requestsPerSecond / direct.requestsPerSecond,
        addedP99Ms: proxied.p99Ms - direct.p99Ms,
      };
    } finally {
      await stopProxy(proxy.worker);
    }
  } finally {
    await backend.worker.terminate();
  }
}

async function startWorker(data: CostWorkerData): Promise<{ worker: Worker; port: number }> {
  const worker = new Worker(new URL('./proxy-cost-worker.ts', import.meta.url), { workerData: data });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (message: unknown) => resolve(Number(message)));
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(new Error(`${data.role} worker exited with ${code} before it was ready`)),
    );
  });
  return { worker, port };
}

/** Asks the proxy thread to stop its proxy (HAProxy is a process of its own), then ends it. */
async function stopProxy(worker: Worker): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    worker.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.postMessage('stop');
  });
  await worker.terminate();
}

async function runLoad(port: number, concurrency: number, durationMs: number, maxRequests: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let started = 0;
  const begin = performance.now();
  const deadline = begin + durationMs;
  const client = async () => {
    while (performance.now() < deadline && started < maxRequests) {
      started++;
      const t0 = performance.now();
      try {
        await get(port, agent);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsedMs = performance.now() - begin;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    durationMs: Math.round(elapsedMs),
    requestsPerSecond: Math.round((latencies.length / elapsedMs) * 1000),
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(latencies.at(-1) ?? 0),
  };
}

function get(port: number, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.once('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
      );
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end();
  });
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
