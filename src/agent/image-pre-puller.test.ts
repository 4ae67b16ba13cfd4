import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../docker/container-engine.ts';
import { ImagePrePuller } from './image-pre-puller.ts';

/** An engine whose pulls finish when the test says so. */
function engine(present: readonly string[] = []) {
  const images = new Set(present);
  const pulls: string[] = [];
  const finish = new Map<string, (error?: Error) => void>();
  return {
    pulls,
    finish: (image: string, error?: Error) => finish.get(image)?.(error),
    port: {
      hasImage: async (ref: string) => images.has(ref),
      pullImage: (ref: string) =>
        new Promise<void>((resolve, reject) => {
          pulls.push(ref);
          finish.set(ref, (error) => {
            if (error) reject(error);
            else {
              images.add(ref);
              resolve();
            }
          });
        }),
    },
  };
}

function puller(port: ReturnType<typeof engine>['port'], limit = 2) {
  const sent: string[] = [];
  const events: string[] = [];
  const instance = new ImagePrePuller({
    engine: port,
    limit,
    send: (m) => sent.push(`${m.request_id} ${m.image} ${m.state}${m.error ? ` ${m.error}` : ''}`),
    record: (e) => events.push(e.message),
  });
  return { instance, sent, events };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

test('an image already present is answered pulled at once, never pulled', async () => {
  const e = engine(['app:v2']);
  const { instance, sent } = puller(e.port);
  await instance.pull('r1', 'web', 'app:v2');
  assert.deepEqual(sent, ['r1 app:v2 pulled']);
  assert.deepEqual(e.pulls, []);
});

test('a missing image: pulling, then pulled, with an event for each end', async () => {
  const e = engine();
  const { instance, sent, events } = puller(e.port);
  const done = instance.pull('r1', 'web', 'app:v2');
  await settled();
  assert.deepEqual(sent, ['r1 app:v2 pulling']);
  e.finish('app:v2');
  await done;
  assert.deepEqual(sent, ['r1 app:v2 pulling', 'r1 app:v2 pulled']);
  assert.match(events.join('\n'), /Pre-pulling image app:v2\nPre-pulled image app:v2 in/);
});

test("a failed pull is answered with the engine's reason", async () => {
  const e = engine();
  const { instance, sent } = puller(e.port);
  const done = instance.pull('r1', 'web', '127.0.0.1:1/none:v2');
  await settled();
  e.finish('127.0.0.1:1/none:v2', new EngineError('pull 127.0.0.1:1/none:v2: connection refused', undefined));
  await done;
  assert.deepEqual(sent.at(-1), 'r1 127.0.0.1:1/none:v2 failed pull 127.0.0.1:1/none:v2: connection refused');
});

test('two requests for one image share one pull; the bound holds other images back', async () => {
  const e = engine();
  const { instance, sent } = puller(e.port, 1);
  const first = instance.pull('r1', 'web', 'app:v2');
  const again = instance.pull('r2', 'web', 'app:v2');
  const other = instance.pull('r3', 'api', 'api:v2');
  await settled();
  assert.deepEqual(e.pulls, ['app:v2'], 'one pull at a time, and one per image');
  e.finish('app:v2');
  await Promise.all([first, again]);
  await settled();
  assert.deepEqual(e.pulls, ['app:v2', 'api:v2'], 'the next image starts once the first is done');
  e.finish('api:v2');
  await other;
  assert.deepEqual(sent.filter((m) => m.endsWith('pulled')).sort(), [
    'r1 app:v2 pulled',
    'r2 app:v2 pulled',
    'r3 api:v2 pulled',
  ]);
});
