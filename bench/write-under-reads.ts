/**
 * `npm run bench:write-under-reads`: do writes keep their rate while the API is busy reading? A
 * real Skiff server (bench/harness/control-plane-server.ts) and N simulated agents
 * (bench/sim-agents.ts) in child processes; 50 services are deployed, then for a window
 * `--readers` clients each GET /api/events in a loop (one request at a time each) while a writer
 * sends `--rate` deploys a second (open loop: each deploy changes one service's env, a new
 * revision, so the rollout is real work). Prints the deploys answered per second, their latency
 * p50/p99 and the reads answered per second. Exits 0 whatever the figures: it is a measurement.
 *
 * Options: --nodes 20  --services 50  --replicas 2 (per service)  --readers 50  --rate 20
 * --window 10s
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../src/model/duration.ts';
import type { FleetCommand, FleetReply, ServerCommand, ServerReply } from './harness/control-plane-ipc.ts';
import { fleetReplySchema, serverReplySchema } from './harness/control-plane-ipc.ts';
import { IpcChild } from './harness/ipc-child.ts';
import { positiveInt } from './harness/options.ts';
import { fmtMs, out, runMain } from './harness/report.ts';
import { SkiffApi } from './harness/skiff-api.ts';
import { median, percentile } from './harness/stats.ts';
import { abortOnSignals, sleep } from './harness/wait.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    services: { type: 'string', default: '50' },
    replicas: { type: 'string', default: '2' },
    readers: { type: 'string', default: '50' },
    rate: { type: 'string', default: '20' },
    window: { type: 'string', default: '10s' },
  },
});
const NODES = positiveInt('nodes', values.nodes, 5000);
const SERVICES = positiveInt('services', values.services, 1000);
const REPLICAS = positiveInt('replicas', values.replicas, 100);
const READERS = positiveInt('readers', values.readers, 1000);
const RATE = positiveInt('rate', values.rate, 1000);
const WINDOW_MS = parseDurationMs(values.window) ?? 10_000;
const REPO = join(import.meta.dirname, '..');
const REQUEST_TIMEOUT_MS = 60_000;

function spec(i: number, version: number) {
  return {
    name: `svc-${i}`,
    image: 'sim:v1',
    replicas: REPLICAS,
    env: { VERSION: String(version) },
    resources: { cpus: 0.05, memory_mb: 16 },
  };
}

async function main(): Promise<void> {
  abortOnSignals();
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-wr-'));
  const server = new IpcChild<ServerReply, ServerCommand>(
    'server',
    join(REPO, 'bench/harness/control-plane-server.ts'),
    ['--data-dir', dataDir],
    serverReplySchema,
  );
  let fleet: IpcChild<FleetReply, FleetCommand> | undefined;
  try {
    const listening = await server.next('listening', 30_000);
    fleet = new IpcChild(
      'sim-agents',
      join(REPO, 'bench/sim-agents.ts'),
      ['--server', listening.url, `--join-token=${listening.joinToken}`, '--nodes', String(NODES)],
      fleetReplySchema,
    );
    await fleet.next('started', 120_000);
    const api = new SkiffApi(listening.url, listening.adminToken, REQUEST_TIMEOUT_MS);
    await api.waitReadyNodes('the simulated nodes', 120_000, 250, (n) => n === NODES);
    for (let i = 0; i < SERVICES; i++) await api.deploy(spec(i, 0));
    await fleet.request({ cmd: 'wait-running', expected: SERVICES * REPLICAS }, 'running', 120_000);
    // Some history for the readers to read.
    await sleep(1000);

    let stop = false;
    let reads = 0;
    let readErrors = 0;
    const readers = Array.from({ length: READERS }, async () => {
      while (!stop) {
        try {
          await api.request('GET', '/api/events');
          reads++;
        } catch {
          readErrors++;
        }
      }
    });
    await sleep(500);
    const latencies: number[] = [];
    let writeErrors = 0;
    const writes: Promise<void>[] = [];
    const startedAt = performance.now();
    const intervalMs = 1000 / RATE;
    for (let i = 0; performance.now() - startedAt < WINDOW_MS; i++) {
      const wait = startedAt + i * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const sentAt = performance.now();
      writes.push(
        api.deploy(spec(i % SERVICES, i + 1)).then(
          () => {
            latencies.push(performance.now() - sentAt);
          },
          () => {
            writeErrors++;
          },
        ),
      );
    }
    const sentMs = performance.now() - startedAt;
    const readsInWindow = reads;
    await Promise.all(writes);
    const answeredMs = performance.now() - startedAt;
    stop = true;
    await Promise.all(readers);
    out(
      `bench:write-under-reads  ${NODES} nodes, ${SERVICES} services × ${REPLICAS}, ${READERS} readers of GET /api/events, writer at ${RATE} deploys/s for ${fmtMs(WINDOW_MS)} ms`,
    );
    out(
      `  deploys: ${writes.length} sent in ${fmtMs(sentMs)} ms, all answered after ${fmtMs(answeredMs)} ms: ` +
        `${(latencies.length / (answeredMs / 1000)).toFixed(1)}/s answered; ` +
        `latency p50 ${fmtMs(median(latencies))} ms, p99 ${fmtMs(percentile(latencies, 99))} ms; ${writeErrors} failed`,
    );
    out(
      `  reads: ${(readsInWindow / (sentMs / 1000)).toFixed(1)}/s while the writer ran; ${readErrors} failed`,
    );
  } finally {
    await fleet?.stop();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runMain('bench:write-under-reads', main);
