/**
 * Ctrl-C for streaming commands: the first SIGINT aborts the request instead of killing the
 * process, so a followed stream ends like any other and the command exits 0.
 */

export async function untilInterrupted<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', abort);
  }
}
