/**
 * A bounded, steady HTTP load for zero-downtime tests: `concurrency` loops send GETs back to back
 * until stopped, `maxRequests` are sent, or `maxMs` passes. Every failure (a network error or a
 * non-2xx answer) is kept with its reason.
 */
export interface LoadResult {
  readonly sent: number;
  readonly failures: string[];
  /** Versions seen in the answers ("v1", "v2"). */
  readonly bodies: Set<string>;
  readonly latenciesMs: number[];
}

export interface SteadyLoad {
  stop(): Promise<LoadResult>;
}

export function steadyLoad(
  url: string,
  limits: { concurrency: number; maxRequests: number; maxMs: number },
): SteadyLoad {
  let stopped = false;
  const deadline = Date.now() + limits.maxMs;
  const result: LoadResult = { sent: 0, failures: [], bodies: new Set(), latenciesMs: [] };
  const counter = { sent: 0 };
  const loop = async () => {
    while (!stopped && counter.sent < limits.maxRequests && Date.now() < deadline) {
      counter.sent++;
      const started = performance.now();
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        const text = await response.text();
        if (!response.ok) result.failures.push(`HTTP ${response.status}: ${text.slice(0, 80)}`);
        const version = /version (v\d+)/.exec(text)?.[1];
        if (version) result.bodies.add(version);
      } catch (error) {
        result.failures.push(
          error instanceof Error
            ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}`
            : String(error),
        );
      }
      result.latenciesMs.push(performance.now() - started);
    }
  };
  const loops = Array.from({ length: limits.concurrency }, loop);
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return { ...result, sent: counter.sent };
    },
  };
}
