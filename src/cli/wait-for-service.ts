/**
 * The wait behind `deploy` and `scale`: polls the service until `judgeConvergence` says it is
 * converged or failed, or the time runs out, showing progress meanwhile. The fetch, the sleep and
 * the clock are passed in, so tests run it without a server or real time.
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { ServiceView } from '../model/views.ts';
import { judgeConvergence, notConvergedReason } from './convergence.ts';
import { ConvergenceError } from './errors.ts';
import type { ProgressLine } from './progress-line.ts';

export const POLL_INTERVAL_MS = 250;

export interface WaitForService {
  readonly name: string;
  readonly timeoutMs: number;
  /** The timeout as the user wrote it ("120s"), echoed in the error. */
  readonly timeoutText: string;
  /** The revision a deploy created, to judge its rollout by. */
  readonly expectedRevision?: number;
  fetchService(): Promise<ServiceView>;
  readonly progress: Pick<ProgressLine, 'update' | 'clear'>;
  sleep?(ms: number): Promise<unknown>;
  now?(): number;
}

/** The converged service; throws `ConvergenceError` when it failed or did not converge in time. */
export async function waitForService(wait: WaitForService): Promise<ServiceView> {
  const now = wait.now ?? Date.now;
  const sleep = wait.sleep ?? sleepMs;
  const deadline = now() + wait.timeoutMs;
  try {
    for (;;) {
      const service = await wait.fetchService();
      const verdict = judgeConvergence(service, wait.expectedRevision);
      if (verdict.state === 'converged') return service;
      if (verdict.state === 'failed') throw new ConvergenceError(`${wait.name} failed: ${verdict.reason}`);
      wait.progress.update(verdict.progress);
      const left = deadline - now();
      if (left <= 0) {
        throw new ConvergenceError(
          `${wait.name} did not converge within ${wait.timeoutText}: ${notConvergedReason(service)}`,
        );
      }
      await sleep(Math.min(POLL_INTERVAL_MS, left));
    }
  } finally {
    wait.progress.clear();
  }
}
