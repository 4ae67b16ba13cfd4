/**
 * When the engine saw containers' processes end: its `die` events for a set of labels, each
 * stamped on arrival. A `die` comes when the process has exited, before the engine tears the
 * container's network and mounts down and long before its record is removed, so the last `die`
 * of a removal is when the service stopped running (out of service, its CPU and memory free).
 */
import { createInterface } from 'node:readline';
import type Docker from 'dockerode';
import { z } from 'zod';

const eventSchema = z.object({ Action: z.string(), Actor: z.object({ ID: z.string() }) });

export class DeathWatch {
  /** performance.now() of each container's first `die`, by container id. */
  readonly diedAt = new Map<string, number>();
  readonly #stream: NodeJS.ReadableStream & { destroy?: () => void };

  private constructor(stream: NodeJS.ReadableStream) {
    this.#stream = stream;
    void this.#read();
  }

  static async open(docker: Docker, labels: readonly string[]): Promise<DeathWatch> {
    const stream = await docker.getEvents({
      filters: { type: ['container'], event: ['die'], label: [...labels] },
    });
    return new DeathWatch(stream);
  }

  async #read(): Promise<void> {
    try {
      for await (const line of createInterface({
        input: this.#stream,
        crlfDelay: Number.POSITIVE_INFINITY,
      })) {
        const at = performance.now();
        if (line.trim() === '') continue;
        const parsed = eventSchema.safeParse(JSON.parse(line));
        if (parsed.success && !this.diedAt.has(parsed.data.Actor.ID))
          this.diedAt.set(parsed.data.Actor.ID, at);
      }
    } catch {
      // Destroyed on close.
    }
  }

  /** The last `die` at or after `since`, in ms after it; NaN when none came. */
  lastSince(since: number): number {
    const after = [...this.diedAt.values()].filter((at) => at >= since);
    return after.length === 0 ? Number.NaN : Math.max(...after) - since;
  }

  /** How many containers died at or after `since`. */
  countSince(since: number): number {
    return [...this.diedAt.values()].filter((at) => at >= since).length;
  }

  close(): void {
    this.#stream.destroy?.();
  }
}
