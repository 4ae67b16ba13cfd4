/**
 * The control-plane benchmark's server process: a real Skiff server (SQLite in --data-dir) as
 * `skiff server` composes it, with the controller's pass timing hook recording every pass, on
 * its own process so its RSS and CPU are its own. Tells its parent where it listens, and answers
 * for the pass durations over the IPC channel. Stops on SIGTERM.
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';
import { DEFAULT_LIVENESS } from '../../src/server/node-liveness.ts';
import { startServer } from '../../src/server/skiff-server.ts';
import type { PassTrace, ServerReply } from './control-plane-ipc.ts';
import { serverCommandSchema } from './control-plane-ipc.ts';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' } } });
const dataDir = values['data-dir'];
if (!dataDir) throw new Error('--data-dir is required');
const send = (reply: ServerReply) => process.send?.(reply);

let durationsMs: number[] = [];
/** The failover trace: every pass since `trace-start`, or undefined when not recording. */
let traced: PassTrace[] | undefined;
/** What the last plan decided, taken with the pass's duration that follows it. */
let lastPlan: Pick<PassTrace, 'downs' | 'assignments' | 'inserted' | 'endpointNodes'> | undefined;
const server = await startServer({
  dataDir,
  port: 0,
  listen: '127.0.0.1',
  log: (message) => process.stderr.write(`${message}\n`),
  onControllerPlan: (plan) => {
    if (!traced) return;
    const endpoints = plan.endpoints;
    lastPlan = {
      downs: plan.statusChanges.filter((change) => change.to === 'down').length,
      assignments: plan.assignments.length,
      inserted: plan.insert.length,
      endpointNodes: endpoints
        ? endpoints.nodeIds.length + endpoints.deltas.reduce((sum, d) => sum + d.nodeIds.length, 0)
        : 0,
    };
  },
  onControllerPass: (ms, steps) => {
    durationsMs.push(ms);
    if (!traced) return;
    const decided = lastPlan ?? { downs: 0, assignments: 0, inserted: 0, endpointNodes: 0 };
    lastPlan = undefined;
    traced.push({ endedAt: performance.timeOrigin + performance.now(), ms, ...steps, ...decided });
  },
});
// SKIFF_BENCH_SERVER_TRACE=FILE: every 2 s, a line of the server's memory and what its agents'
// sockets hold unsent (to see a send backlog grow), appended to FILE.
const traceFile = process.env.SKIFF_BENCH_SERVER_TRACE;
if (traceFile) {
  const started = performance.now();
  setInterval(() => {
    let sum = 0;
    let max = 0;
    let backlogged = 0;
    for (const session of server.cluster.list()) {
      const bytes = session.link?.bufferedBytes?.() ?? 0;
      sum += bytes;
      max = Math.max(max, bytes);
      if (bytes > 0) backlogged++;
    }
    const memory = process.memoryUsage();
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    appendFileSync(
      traceFile,
      `${((performance.now() - started) / 1000).toFixed(0)}s rss=${mib(memory.rss)} stripper=${typeStripperLoaded()} heap=${mib(memory.heapUsed)}/${mib(memory.heapTotal)} ` +
        `external=${mib(memory.external)} buffers=${mib(memory.arrayBuffers)} unsent=${mib(sum)}MiB ` +
        `max=${(max / 1024).toFixed(0)}KiB backlogged=${backlogged} spaces(used/committed MiB)=` +
        getHeapSpaceStatistics()
          .filter((space) => space.space_size > 0)
          .map(
            (space) =>
              `${space.space_name.replace(/_space$/, '')}:${mib(space.space_used_size)}/${mib(space.physical_space_size)}`,
          )
          .join(',') +
        '\n',
    );
  }, 2000).unref();
}
process.on('message', (raw) => {
  const command = serverCommandSchema.parse(raw);
  if (command.cmd === 'passes') {
    send({ event: 'passes', durationsMs });
    durationsMs = [];
  }
  if (command.cmd === 'trace-start') {
    traced = [];
    lastPlan = undefined;
  }
  if (command.cmd === 'trace')
    send({
      event: 'trace',
      passes: traced ?? [],
      lastSeen: command.nodes.map((id) => server.cluster.get(id)?.lastSeen ?? -1),
    });
  if (command.cmd === 'endpoints-waiting')
    send({ event: 'endpoints-waiting', nodes: server.controller.endpointsWaiting });
});
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
send({
  event: 'listening',
  url: server.url,
  adminToken: server.tokens.admin,
  joinToken: server.tokens.join,
  downAfterMs: DEFAULT_LIVENESS.downAfterMs,
});

/** Whether Node loaded its TypeScript stripper (amaro): it does when the compile cache missed. */
function typeStripperLoaded(): boolean {
  const loaded = (process as unknown as { moduleLoadList?: readonly string[] }).moduleLoadList ?? [];
  return loaded.some((name) => name.includes('amaro'));
}
