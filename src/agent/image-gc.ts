/**
 * The agent's image keeper, the loop at the edge of image-gc-selection.ts and image-report.ts:
 * every `--image-gc-interval` (and soon after each pull) it lists the engine's images and the
 * containers using them, records when Skiff's images were last in use, removes the oldest unused
 * Skiff-pulled images once the data root's filesystem is past the high-water mark, and sends the
 * server what changed in the list (`images`, to a server whose welcome lists the feature). It
 * also runs `skiff image prune` requests. One pass at a time; a pass asked for during one runs
 * after it.
 *
 * Pulls are recorded through `recordPulls`: a wrapper of the engine's `pullImage`, so every pull
 * the agent makes (a replica's start, a pre-pull) lands in the record by one path.
 */
import type { ContainerEngine } from '../docker/container-engine.ts';
import type { EngineImage, ImageEngine, ImageUser } from '../docker/image-engine.ts';
import type { EventInput } from '../model/event.ts';
import type { RemovedImage } from '../protocol/images-message.ts';
import { MAX_REPORTED_IMAGES } from '../protocol/images-message.ts';
import type { AgentMessage } from '../protocol/messages.ts';
import type { GcMode, GcSelection, ImageGcThresholds } from './image-gc-selection.ts';
import {
  DEFAULT_IMAGE_GC,
  DEFAULT_IMAGE_GC_INTERVAL_MS,
  selectImagesToRemove,
} from './image-gc-selection.ts';
import { imagesDelta, reportedImages } from './image-report.ts';
import { PulledImages } from './pulled-images.ts';

/** A pull's report waits this long, so a rollout's pulls on one node go out as one message. */
const AFTER_PULL_MS = 500;

export interface ImageKeeperOptions {
  readonly images: ImageEngine;
  /** The agent's data dir, where `pulled-images.json` is kept. */
  readonly dataDir: string;
  readonly thresholds?: ImageGcThresholds;
  readonly intervalMs?: number;
  /** The images desired tasks run; undefined while no desired set is known (nothing is collected). */
  readonly desiredImages: () => readonly string[] | undefined;
  readonly now: () => number;
  /** Events for the server (an image removed, a collection that could not free enough). */
  readonly onEvent: (event: Omit<EventInput, 'node'>) => void;
  /** Images were removed: whoever remembers what is present must ask again. */
  readonly onRemoved?: () => void;
  readonly log: (message: string) => void;
}

/** `engine` whose pulls call `onPulled(reference)` once they succeed. */
export function recordPulls<E extends ContainerEngine>(engine: E, onPulled: (reference: string) => void): E {
  return new Proxy(engine, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property !== 'pullImage') return value.bind(target);
      return async (reference: string, ...rest: unknown[]) => {
        await value.call(target, reference, ...rest);
        onPulled(reference);
      };
    },
  });
}

export class ImageKeeper {
  readonly #options: ImageKeeperOptions;
  readonly #record: PulledImages;
  readonly #thresholds: ImageGcThresholds;
  /** Where `images` messages go while connected to a server that reads them. */
  #send: ((message: AgentMessage) => boolean) | undefined;
  #sent = new Map<string, string>();
  #sentFull = false;
  /** Image ids in use at the last pass (for last-use times), undefined before the first. */
  #inUse: Set<string> | undefined;
  /** References pulled since the last pass, whose ids are recorded at the next. */
  readonly #pulls: string[] = [];
  #running: Promise<void> = Promise.resolve();
  #queued = false;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The last threshold collection could not free what it wanted. */
  #shortOfSpace = false;

  constructor(options: ImageKeeperOptions) {
    this.#options = options;
    this.#thresholds = options.thresholds ?? DEFAULT_IMAGE_GC;
    this.#record = new PulledImages(options.dataDir, options.log);
  }

  start(): void {
    const intervalMs = this.#options.intervalMs ?? DEFAULT_IMAGE_GC_INTERVAL_MS;
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.check();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
  }

  /** Connected to a server whose welcome lists `images`: it gets a full list, then changes. */
  connected(send: (message: AgentMessage) => boolean): void {
    this.#send = send;
    this.#sentFull = false;
    this.check();
  }

  disconnected(): void {
    this.#send = undefined;
  }

  /** The engine pulled `reference` for this agent: recorded (with its id) at the next pass, soon. */
  pulled(reference: string): void {
    this.#pulls.push(reference);
    if (this.#soon === undefined)
      this.#soon = setTimeout(() => {
        this.#soon = undefined;
        this.check();
      }, AFTER_PULL_MS);
  }

  /** Runs a pass (after the one under way, if any); resolves when it is done. */
  check(): Promise<void> {
    return this.#enqueue(() => this.#pass({ kind: 'threshold' }));
  }

  /** `skiff image prune`: every unused Skiff-pulled image now; answered with `images.pruned`. */
  prune(requestId: string): Promise<void> {
    return this.#enqueue(async () => {
      let removed: RemovedImage[] = [];
      let error: string | null = null;
      try {
        removed = await this.#pass({ kind: 'prune' });
      } catch (caught) {
        error = caught instanceof Error ? caught.message : String(caught);
      }
      this.#send?.({
        type: 'images.pruned',
        request_id: requestId,
        removed: removed.slice(0, MAX_REPORTED_IMAGES),
        error,
      });
    }, true);
  }

  #enqueue(run: () => Promise<unknown>, always = false): Promise<void> {
    // Passes asked for while one waits to run are that one: the list it takes is fresh enough.
    if (!always && this.#queued) return this.#running;
    if (!always) this.#queued = true;
    const next = this.#running.then(async () => {
      if (!always) this.#queued = false;
      if (this.#stopped) return;
      try {
        await run();
      } catch (error) {
        this.#options.log(`images: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    this.#running = next;
    return next;
  }

  /** One look at the engine: record pulls and use, collect (by threshold or prune), report. */
  async #pass(mode: { kind: 'threshold' | 'prune' }): Promise<RemovedImage[]> {
    const { images: engine, now } = this.#options;
    for (const reference of this.#pulls.splice(0)) {
      const id = await engine.imageId(reference);
      if (id !== undefined) this.#record.recordPull(reference, id, now());
    }
    let [images, users] = await Promise.all([engine.listImages(), engine.imageUsers()]);
    const at = now();
    const inUse = new Set(users.map((user) => user.imageId));
    // Last use changes when an image starts or stops being used (and once at start): the file is
    // written on those changes, not on every pass.
    const lastUsed = new Map<string, number>();
    for (const id of inUse) if (!this.#inUse?.has(id)) lastUsed.set(id, at);
    for (const id of this.#inUse ?? []) if (!inUse.has(id)) lastUsed.set(id, at);
    this.#inUse = inUse;
    this.#record.update(new Set(images.map((image) => image.id)), lastUsed);
    const desired = this.#options.desiredImages();
    let removed: RemovedImage[] = [];
    if (desired !== undefined) {
      const pulled = new Map(this.#record.entries().map((entry) => [entry.id, entry]));
      const gcMode: GcMode =
        mode.kind === 'prune'
          ? { kind: 'prune' }
          : { kind: 'threshold', disk: await engine.dataRootUsage(), thresholds: this.#thresholds };
      const selection = selectImagesToRemove({ images, users, pulled, desired, now: at }, gcMode);
      if (selection.remove.length > 0 || (selection.reason !== undefined && mode.kind === 'threshold')) {
        removed = await this.#remove(selection);
        [images, users] = await Promise.all([engine.listImages(), engine.imageUsers()]);
        this.#record.update(new Set(images.map((image) => image.id)), new Map());
      }
    } else if (mode.kind === 'prune') {
      throw new Error(
        'the agent has no desired set yet (no assignment from the server or its disk): nothing is pruned',
      );
    }
    this.#report(images, users);
    return removed;
  }

  async #remove(selection: GcSelection): Promise<RemovedImage[]> {
    const { images: engine } = this.#options;
    const removed: RemovedImage[] = [];
    let freed = 0;
    for (const image of selection.remove) {
      let refused = false;
      for (const name of image.names) if ((await engine.removeImage(name)) === 'conflict') refused = true;
      // Untagged, it may still be there under a digest name: by id (never forced).
      if (!refused && (await engine.removeImage(image.id)) === 'conflict') refused = true;
      if (refused) {
        this.#options.log(`images: the engine kept ${image.names.join(', ')} (${shortId(image.id)}): in use`);
        continue;
      }
      this.#options.onRemoved?.();
      freed += image.sizeBytes;
      removed.push({ id: image.id, references: [...image.names], size_bytes: image.sizeBytes });
      this.#options.onEvent({
        type: 'image',
        service: null,
        container: null,
        message: `Removed unused image ${image.names.join(', ')} (${shortId(image.id)}, ${megabytes(image.sizeBytes)})${selection.reason === 'prune' ? ': pruned' : `: ${selection.reason}`}`,
      });
    }
    const short = selection.reason !== 'prune' && freed < selection.bytesToFree;
    // Said once per episode, not on every pass while the disk stays full.
    if (short && !this.#shortOfSpace)
      this.#options.onEvent({
        type: 'image',
        service: null,
        container: null,
        message: `Image garbage collection freed ${megabytes(freed)} of the ${megabytes(selection.bytesToFree)} wanted (${selection.reason}): no other image Skiff pulled is unused`,
      });
    this.#shortOfSpace = short;
    return removed;
  }

  #report(images: readonly EngineImage[], users: readonly ImageUser[]): void {
    const send = this.#send;
    if (!send) return;
    const pulled = new Map(this.#record.entries().map((entry) => [entry.id, entry]));
    const report = reportedImages({ images, users, pulled });
    if (!this.#sentFull) {
      const delta = imagesDelta(new Map(), report.images);
      if (
        send({ type: 'images', full: true, images: report.images, removed: [], truncated: report.truncated })
      ) {
        this.#sent = delta.sent;
        this.#sentFull = true;
      }
      return;
    }
    const delta = imagesDelta(this.#sent, report.images);
    if (delta.changed.length === 0 && delta.removed.length === 0) return;
    if (
      send({
        type: 'images',
        full: false,
        images: delta.changed,
        removed: delta.removed,
        truncated: report.truncated,
      })
    )
      this.#sent = delta.sent;
  }
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
