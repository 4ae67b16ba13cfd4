/**
 * `npm run bench:stream`: what the dashboard's live stream (src/api/stream) costs the server.
 *
 *  - tick: one derivation of the state from the store and the cluster, and its diff against the
 *    last (what the hub does every 100 ms while anyone watches), at 100 services × 10 replicas on
 *    10 nodes, with nothing changed and after one scale;
 *  - snapshot: its size as sent;
 *  - fan-out: one tick offering a change to 50 connected clients;
 *  - latency over a real server and a real WebSocket (no agent: replicas stay pending): from a
 *    `POST …/scale` being sent to the change arriving at a stream client, 40 times at random
 *    phases of the hub's tick (the route's own wait for its controller pass is included).
 *
 * No Docker. Options: --services N (100), --replicas N (10 per service), --clients N (50).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { parseServerMessage } from '../src/api/stream/messages.ts';
import { StreamHub } from '../src/api/stream/stream-hub.ts';
import { streamSource } from '../src/api/stream/stream-source.ts';
import { buildState, diffStates } from '../src/api/stream/stream-state.ts';
import { createFixture } from '../src/api/test-fixture.ts';
import { startServer } from '../src/server/skiff-server.ts';
import { integerOption } from './harness/options.ts';
import { percentile } from './harness/stats.ts';

const { values } = parseArgs({
  options: { services: { type: 'string' }, replicas: { type: 'string' }, clients: { type: 'string' } },
});
const SERVICES = integerOption('--services', values.services ?? '100', 1, 1000);
const REPLICAS = integerOption('--replicas', values.replicas ?? '10', 1, 100);
const CLIENTS = integerOption('--clients', values.clients ?? '50', 1, 1000);

const ms = (samples: number[]) =>
  `p50 ${percentile(samples, 50).toFixed(2)} ms, p99 ${percentile(samples, 99).toFixed(2)} ms`;

async function inProcess(): Promise<void> {
  const f = createFixture();
  for (let i = 0; i < 10; i++) f.connectNode(`node-${i}`, { memoryBytes: 1e13, cpuMillicores: 1e7 });
  for (let i = 0; i < SERVICES; i++) {
    const res = await f.call('POST', '/api/deploy', {
      name: `svc-${i}`,
      image: 'skiff-demo:v1',
      replicas: REPLICAS,
    });
    if (res.status !== 201) throw new Error(res.text);
  }
  const source = streamSource(f);
  let state = buildState([], []);
  const derive = () => {
    const started = performance.now();
    const views = source.views();
    const next = buildState(views.services, views.nodes);
    const diff = diffStates(state, next);
    state = next;
    return { ms: performance.now() - started, diff };
  };
  derive();
  const idle = Array.from({ length: 200 }, () => derive().ms);
  const changed: number[] = [];
  for (let i = 0; i < 50; i++) {
    await f.call('POST', `/api/services/svc-${i}/scale`, { replicas: REPLICAS + 1 + (i % 2) });
    changed.push(derive().ms);
  }
  console.log(`${SERVICES} services × ${REPLICAS} replicas, 10 nodes`);
  console.log(`  tick, nothing changed:  ${ms(idle)} (every 100 ms while a client watches)`);
  console.log(`  tick after one scale:   ${ms(changed)}`);

  const hub = new StreamHub({ source, now: () => performance.now() });
  const sizes: number[] = [];
  const principal = { name: 'admin', role: 'admin' as const };
  for (let i = 0; i < CLIENTS; i++)
    hub.connect(
      { send: (text) => sizes.push(text.length), bufferedAmount: 0, close() {} },
      principal,
      () => true,
    );
  console.log(`  snapshot:               ${Math.round((sizes[0] ?? 0) / 1024)} KiB`);
  const fanOut: number[] = [];
  for (let i = 0; i < 50; i++) {
    await f.call('POST', `/api/services/svc-${i}/scale`, { replicas: REPLICAS });
    const started = performance.now();
    hub.tick();
    fanOut.push(performance.now() - started);
  }
  console.log(`  tick with a change to ${CLIENTS} clients: ${ms(fanOut)}`);
  hub.close();
  f.close();
}

async function overSockets(): Promise<void> {
  const dir = mkdtempSync(join('/dev/shm', 'skiff-bench-stream-'));
  const server = await startServer({ dataDir: dir, port: 0, listen: '127.0.0.1', log: () => {} });
  const auth = { authorization: `Bearer ${server.tokens.admin}` };
  const post = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post('/api/deploy', { name: 'web', image: 'skiff-demo:v1', replicas: 1 });
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/stream`, { headers: auth });
  let waiting: { replicas: number; resolve: () => void } | undefined;
  ws.on('message', (data) => {
    const message = parseServerMessage(String(data));
    if (message?.type !== 'changes' || !waiting) return;
    if (message.services?.upsert.some((s) => s.name === 'web' && s.replicas === waiting?.replicas))
      waiting.resolve();
  });
  await new Promise((resolve) => ws.once('open', resolve));
  const latencies: number[] = [];
  for (let i = 0; i < 40; i++) {
    // Out of phase with the hub's 100 ms tick (a change right after a tick waits for the next).
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
    const replicas = 2 + (i % 2);
    const started = performance.now();
    const arrived = new Promise<void>((resolve) => {
      waiting = { replicas, resolve };
    });
    await post('/api/services/web/scale', { replicas });
    await arrived;
    latencies.push(performance.now() - started);
  }
  console.log(
    `real server, WebSocket client: scale sent → change received: ${ms(latencies)}, p95 ${percentile(latencies, 95).toFixed(1)} ms`,
  );
  ws.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

await inProcess();
await overSockets();
