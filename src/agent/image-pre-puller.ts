/**
 * Pulls asked for by the server before a rollout (protocol `image.pull`, reconciler/pre-pull.ts):
 * each is answered with `image.pull_status` as it starts and as it ends. An image already present
 * is never pulled again (`pulled` at once). At most `limit` pulls run at once on this node; a
 * second request for an image being pulled waits for that pull rather than starting another.
 * Answers go to the server of the moment: a request asked over a link that dropped is asked again
 * by the server on the next one.
 */
import type { ContainerEngine } from '../docker/container-engine.ts';
import type { AgentTally } from '../metrics/agent-counters.ts';
import type { EventInput } from '../model/event.ts';
import type { AgentMessage } from '../protocol/messages.ts';
import { DEFAULT_PULL_TIMEOUT_MS } from './image-puller.ts';
import { Semaphore } from './semaphore.ts';

type PullStatus = Extract<AgentMessage, { type: 'image.pull_status' }>;

export interface ImagePrePullerOptions {
  readonly engine: Pick<ContainerEngine, 'hasImage' | 'pullImage'>;
  readonly send: (message: PullStatus) => void;
  /** An event for `skiff events` (the converge loop reports it with its own). */
  readonly record: (event: Omit<EventInput, 'node'>) => void;
  readonly tally?: AgentTally;
  /** Pulls at once on this node. */
  readonly limit?: number;
  /** A pre-pull still running after this long is cancelled and answered failed (default: the agent's pull timeout). */
  readonly timeoutMs?: number;
}

/** Default bound on this node's pre-pulls at once. */
export const PRE_PULL_CONCURRENCY = 2;

type Result =
  | { readonly ok: true; readonly pulled: boolean }
  | { readonly ok: false; readonly error: string };

export class ImagePrePuller {
  readonly #options: ImagePrePullerOptions;
  readonly #semaphore: Semaphore;
  /** Pulls under way, by image: a second request joins the first. */
  readonly #inFlight = new Map<string, Promise<Result>>();

  constructor(options: ImagePrePullerOptions) {
    this.#options = options;
    this.#semaphore = new Semaphore(options.limit ?? PRE_PULL_CONCURRENCY);
  }

  /** Answers the request; never rejects (a failure is an answer). */
  async pull(requestId: string, service: string, image: string, auth?: string): Promise<void> {
    const answer = (state: PullStatus['state'], error: string | null = null) =>
      this.#options.send({ type: 'image.pull_status', request_id: requestId, image, state, error });
    let pending = this.#inFlight.get(image);
    if (!pending) {
      pending = this.#pull(service, image, auth, () => answer('pulling')).finally(() =>
        this.#inFlight.delete(image),
      );
      this.#inFlight.set(image, pending);
    } else answer('pulling');
    const result = await pending;
    if (result.ok) answer('pulled');
    else answer('failed', result.error);
  }

  async #pull(
    service: string,
    image: string,
    auth: string | undefined,
    started: () => void,
  ): Promise<Result> {
    const { engine, tally } = this.#options;
    try {
      if (await engine.hasImage(image)) return { ok: true, pulled: false };
      started();
      return await this.#semaphore.run(async () => {
        const startedAt = performance.now();
        this.#options.record({
          type: 'image',
          service,
          container: null,
          message: `Pre-pulling image ${image}`,
        });
        try {
          await engine.pullImage(image, {
            auth,
            signal: AbortSignal.timeout(this.#options.timeoutMs ?? DEFAULT_PULL_TIMEOUT_MS),
          });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          tally?.count('pulls', service, 'failure');
          tally?.observe('pullDuration', service, (performance.now() - startedAt) / 1000);
          this.#options.record({
            type: 'image',
            service,
            container: null,
            message: `Pre-pull of image ${image} failed: ${message}`,
          });
          return { ok: false, error: message };
        }
        const seconds = (performance.now() - startedAt) / 1000;
        tally?.count('pulls', service, 'success');
        tally?.observe('pullDuration', service, seconds);
        this.#options.record({
          type: 'image',
          service,
          container: null,
          message: `Pre-pulled image ${image} in ${seconds.toFixed(1)}s`,
        });
        return { ok: true, pulled: true };
      });
    } catch (error) {
      // hasImage failed: the engine is unreachable.
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
