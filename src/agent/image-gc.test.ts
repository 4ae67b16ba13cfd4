/**
 * The image keeper's loop on a fake image engine: pulls recorded through `recordPulls` (and kept
 * in the data dir across a restart), a full report then changes only, collection past the high
 * mark and never on a cold start, a prune answered with what it removed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type {
  DataRootUsage,
  EngineImage,
  ImageEngine,
  ImageRemoval,
  ImageUser,
} from '../docker/image-engine.ts';
import type { EventInput } from '../model/event.ts';
import type { AgentMessage } from '../protocol/messages.ts';
import { FakeEngine } from '../sim/fake-engine.ts';
import { ImageKeeper, recordPulls } from './image-gc.ts';

/** Images by reference, each its own id; `usedPercent` is the disk. */
class Images implements ImageEngine {
  readonly images = new Map<string, EngineImage>();
  users: ImageUser[] = [];
  usedPercent = 10;
  add(ref: string, sizeBytes = 1000): void {
    this.images.set(ref, { id: `sha256:${ref}`, repoTags: [ref], repoDigests: [], sizeBytes, createdAt: 0 });
  }
  async listImages(): Promise<EngineImage[]> {
    return [...this.images.values()];
  }
  async imageUsers(): Promise<ImageUser[]> {
    return this.users;
  }
  async imageId(ref: string): Promise<string | undefined> {
    return this.images.get(ref)?.id;
  }
  async removeImage(ref: string): Promise<ImageRemoval> {
    const found = [...this.images.entries()].find(([name, image]) => name === ref || image.id === ref);
    if (!found) return 'gone';
    if (this.users.some((u) => u.imageId === found[1].id)) return 'conflict';
    this.images.delete(found[0]);
    return 'removed';
  }
  async dataRootUsage(): Promise<DataRootUsage> {
    return { path: '/data', usedBytes: this.usedPercent * 1e6, totalBytes: 100e6 };
  }
}

let dir: string;
let images: Images;
let sent: AgentMessage[];
let events: Omit<EventInput, 'node'>[];
let desired: string[] | undefined;
let keeper: ImageKeeper;
/** How often the keeper said it removed images (the loop then forgets what it knew present). */
let removals = 0;

function newKeeper(): ImageKeeper {
  return new ImageKeeper({
    images,
    dataDir: dir,
    thresholds: { highPercent: 85, lowPercent: 80, minAgeMs: 0 },
    intervalMs: 3_600_000,
    desiredImages: () => desired,
    now: () => 1_000_000,
    onEvent: (event) => events.push(event),
    onRemoved: () => {
      removals += 1;
    },
    log: () => {},
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-image-keeper-'));
  images = new Images();
  sent = [];
  events = [];
  desired = [];
  removals = 0;
  keeper = newKeeper();
  keeper.connected((message) => {
    sent.push(message);
    return true;
  });
});
afterEach(() => {
  keeper.stop();
  rmSync(dir, { recursive: true, force: true });
});

const reports = () => sent.filter((m) => m.type === 'images');

test('a pull through the wrapped engine is recorded with its id and survives a restart', async () => {
  const engine = new FakeEngine({ images: [] });
  const wrapped = recordPulls(engine, (ref) => {
    images.add(ref);
    keeper.pulled(ref);
  });
  await wrapped.pullImage('app:v1');
  assert.equal(await wrapped.hasImage('app:v1'), true, 'other calls pass through');
  await keeper.check();
  const record = JSON.parse(readFileSync(join(dir, 'pulled-images.json'), 'utf8'));
  assert.deepEqual(
    record.images.map((e: { id: string; references: string[] }) => [e.id, e.references]),
    [['sha256:app:v1', ['app:v1']]],
  );
  const last = reports().at(-1);
  assert.equal(last?.type === 'images' && last.images[0]?.pulled_by_skiff, true);
  keeper.stop();
  keeper = newKeeper();
  images.add('local:v1');
  images.usedPercent = 90;
  await keeper.check();
  assert.deepEqual([...images.images.keys()], ['local:v1'], 'the restarted keeper knows app:v1 was pulled');
});

test('the first report is the full list, later ones only changes, none when nothing changed', async () => {
  images.add('a:1');
  await keeper.check();
  images.add('b:1');
  await keeper.check();
  await keeper.check();
  images.images.delete('a:1');
  await keeper.check();
  assert.deepEqual(
    reports().map((m) => m.type === 'images' && [m.full, m.images.map((i) => i.id), m.removed]),
    [
      // At connect (beforeEach): the full list, empty then.
      [true, [], []],
      [false, ['sha256:a:1'], []],
      [false, ['sha256:b:1'], []],
      [false, [], ['sha256:a:1']],
    ],
  );
  // Reconnected: a full list again.
  keeper.connected((message) => {
    sent.push(message);
    return true;
  });
  await keeper.check();
  const last = reports().at(-1);
  assert.equal(last?.type === 'images' && last.full, true);
});

test('past the high mark unused Skiff-pulled images go, with an event; never before the desired set is known', async () => {
  // 90% of 100 MB used: 10 MB to free, and only 5 MB that may go.
  for (const ref of ['old:v1', 'used:v1', 'wanted:v1']) {
    images.add(ref, 5e6);
    keeper.pulled(ref);
  }
  images.add('local:v1', 5e6);
  images.users = [{ containerName: 'web-0.x', imageId: 'sha256:used:v1' }];
  images.usedPercent = 90;
  desired = undefined;
  await keeper.check();
  assert.equal(images.images.size, 4, 'a cold start collects nothing');
  desired = ['wanted:v1'];
  await keeper.check();
  assert.deepEqual([...images.images.keys()].sort(), ['local:v1', 'used:v1', 'wanted:v1']);
  assert.equal(removals, 1);
  assert.deepEqual(
    events.map((e) => e.message),
    [
      'Removed unused image old:v1 (old:v1, 5.0 MB): disk 90% used ≥ 85%',
      'Image garbage collection freed 5.0 MB of the 10.0 MB wanted (disk 90% used ≥ 85%): no other image Skiff pulled is unused',
    ],
  );
  // Still short on the next pass: not said again.
  await keeper.check();
  assert.equal(events.length, 2);
});

test('a prune removes every unused Skiff-pulled image whatever the disk, and answers', async () => {
  images.add('old:v1');
  keeper.pulled('old:v1');
  images.add('local:v1');
  await keeper.prune('req-1');
  const answer = sent.find((m) => m.type === 'images.pruned');
  assert.deepEqual(answer, {
    type: 'images.pruned',
    request_id: 'req-1',
    removed: [{ id: 'sha256:old:v1', references: ['old:v1'], size_bytes: 1000 }],
    error: null,
  });
  desired = undefined;
  await keeper.prune('req-2');
  const cold = sent.filter((m) => m.type === 'images.pruned').at(-1);
  assert.match(cold?.type === 'images.pruned' ? (cold.error ?? '') : '', /no desired set yet/);
});
