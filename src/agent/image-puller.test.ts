import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerEngine, PullOptions } from '../docker/container-engine.ts';
import { EngineError } from '../docker/container-engine.ts';
import { ImagePuller } from './image-puller.ts';

/** An engine whose pulls wait until released (or their signal ends them), recording each. */
function pausedEngine() {
  const started: { ref: string; options: PullOptions | undefined }[] = [];
  const waiting: (() => void)[] = [];
  let running = 0;
  let most = 0;
  const engine = {
    pullImage: (ref: string, options?: PullOptions) => {
      started.push({ ref, options });
      running++;
      most = Math.max(most, running);
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          running--;
          resolve();
        };
        waiting.push(done);
        options?.signal?.addEventListener('abort', () => {
          running--;
          reject(new EngineError(`pull ${ref}: timed out (the pull timeout)`, undefined));
        });
      });
    },
  } as unknown as ContainerEngine;
  return { engine, started, release: () => waiting.shift()?.(), most: () => most };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('at most `concurrency` pulls at once; the others wait their turn', async () => {
  const paused = pausedEngine();
  const puller = new ImagePuller({ engine: paused.engine, concurrency: 2, timeoutMs: 60_000 });
  const pulls = ['a:1', 'b:1', 'c:1', 'd:1'].map((ref) => puller.pull(ref, undefined));
  await settle();
  assert.deepEqual(
    paused.started.map((s) => s.ref),
    ['a:1', 'b:1'],
  );
  for (let i = 0; i < 4; i++) {
    paused.release();
    await settle();
  }
  await Promise.all(pulls);
  assert.equal(paused.most(), 2);
  assert.equal(paused.started.length, 4);
});

test('one pull per reference and credential, shared by everyone who waits for it; the credential goes along', async () => {
  const paused = pausedEngine();
  const puller = new ImagePuller({ engine: paused.engine, concurrency: 3, timeoutMs: 60_000 });
  const same = [puller.pull('a:1', 'AUTH'), puller.pull('a:1', 'AUTH'), puller.pull('a:1', 'AUTH')];
  const other = puller.pull('a:1', undefined);
  await settle();
  assert.equal(paused.started.length, 2);
  assert.equal(paused.started[0]?.options?.auth, 'AUTH');
  assert.equal(paused.started[1]?.options?.auth, undefined);
  paused.release();
  paused.release();
  await Promise.all([...same, other]);
  // Done: the next pull asks the engine again.
  const next = puller.pull('a:1', 'AUTH');
  await settle();
  assert.equal(paused.started.length, 3);
  paused.release();
  await next;
});

test('a pull still running at the timeout is ended and fails', async () => {
  const paused = pausedEngine();
  const puller = new ImagePuller({ engine: paused.engine, concurrency: 1, timeoutMs: 50 });
  await assert.rejects(puller.pull('slow:1', undefined), /pull slow:1: timed out/);
  assert.ok(paused.started[0]?.options?.signal?.aborted);
});
