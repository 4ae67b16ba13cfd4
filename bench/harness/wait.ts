/**
 * Bounded waits and Ctrl-C: `sleep`, `waitFor` (poll until a value or a named timeout),
 * `withDeadline`, and the process-wide `interrupted` controller that every bench's waits check,
 * so a Ctrl-C (or SIGTERM) stops the run at its next poll and leaves the bench's cleanup to run.
 */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `check` every `intervalMs` until it returns a value other than undefined; throws once
 * `timeoutMs` has passed, naming what it waited for.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  intervalMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Rejects with a named error if `promise` does not settle within `timeoutMs`. */
export async function withDeadline<T>(what: string, timeoutMs: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Aborted on Ctrl-C, so every wait stops and the cleanup runs. One per process: one bench per process. */
export const interrupted = new AbortController();

export function checkInterrupted(): void {
  if (interrupted.signal.aborted) throw new Error('interrupted');
}

/**
 * `waitFor` that stops early on Ctrl-C. Cleanup waits use plain `waitFor`: they must run to the
 * end after an interruption.
 */
export function waitUntil<T>(
  what: string,
  timeoutMs: number,
  intervalMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  return waitFor(what, timeoutMs, intervalMs, async () => {
    checkInterrupted();
    return await check();
  });
}

/** The first SIGINT or SIGTERM aborts `interrupted` (the benches on the local engine). */
export function abortOnSignals(): void {
  process.once('SIGINT', () => interrupted.abort());
  process.once('SIGTERM', () => interrupted.abort());
}
