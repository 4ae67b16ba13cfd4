/**
 * Simulated agents against a real Skiff server: N agents in this process, each speaking the real
 * protocol over its own WebSocket and running the agent's real converge loop on a fake engine
 * (src/sim). Run alone against any server:
 *
 *   node bench/sim-agents.ts --server http://127.0.0.1:8080 --join-token TOKEN --nodes 100
 *
 * or as the child of `bench/control-plane.ts`, which drives it over the IPC channel (kill nodes,
 * churn containers, read counters). Options: --nodes N (100), --cpus N per node (2),
 * --memory-mb N per node (4096), --start-delay-ms N or MIN-MAX (0), --seed N (1),
 * --prefix NAME (sim), --agent sim|real (sim; real is src/agent/agent.ts with its data plane off and
 * its data dirs on /dev/shm, to compare what it costs), --stats-interval DURATION (5s; 0: no stats
 * messages; the usage is fake, src/sim/fake-usage.ts). Stops on SIGINT/SIGTERM (agents close politely; containers are fakes).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../src/model/duration.ts';
import type { DelayMs } from '../src/sim/fake-engine.ts';
import type { FleetAgent } from '../src/sim/sim-fleet.ts';
import { SimFleet } from '../src/sim/sim-fleet.ts';
import type { FleetReply } from './harness/control-plane-ipc.ts';
import { fleetCommandSchema } from './harness/control-plane-ipc.ts';
import { integerOption, positiveInt } from './harness/options.ts';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    'join-token': { type: 'string' },
    nodes: { type: 'string', default: '100' },
    cpus: { type: 'string', default: '2' },
    'memory-mb': { type: 'string', default: '4096' },
    'start-delay-ms': { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    prefix: { type: 'string', default: 'sim' },
    agent: { type: 'string', default: 'sim' },
    'stats-interval': { type: 'string', default: '5s' },
  },
});
const serverUrl = values.server;
const joinToken = values['join-token'] ?? process.env.SKIFF_JOIN_TOKEN;
if (!serverUrl || !joinToken)
  throw new Error('--server URL and --join-token TOKEN (or SKIFF_JOIN_TOKEN) are required');

if (values.agent !== 'sim' && values.agent !== 'real')
  throw new Error(`--agent: sim or real, got ${values.agent}`);
// The real agents' assignment files go to memory: hundreds of them must not wait on a disk.
const dataRoot = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'skiff-sim-agents-'));
const send = (reply: FleetReply) => process.send?.(reply);
const log = (message: string) => process.stderr.write(`${message}\n`);

function statsIntervalOption(text: string): number {
  if (text === '0') return 0;
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < 100)
    throw new Error(`--stats-interval: a duration of at least 100ms, or 0; got ${text}`);
  return ms;
}

const fleet = new SimFleet({
  serverUrl,
  joinToken,
  nodes: positiveInt('nodes', values.nodes, 5000),
  namePrefix: values.prefix,
  cpuMillicores: positiveInt('cpus', values.cpus, 256) * 1000,
  memoryBytes: positiveInt('memory-mb', values['memory-mb'], 1 << 20) * 1024 * 1024,
  startDelayMs: delayOption(values['start-delay-ms']),
  seed: integerOption('seed', values.seed, 0, 2 ** 31),
  agent: values.agent,
  dataRoot,
  statsIntervalMs: statsIntervalOption(values['stats-interval']),
  log,
});
const cleanUp = () => rmSync(dataRoot, { recursive: true, force: true });
const killed = new Set<string>();

process.on('message', (raw) => {
  const command = fleetCommandSchema.parse(raw);
  switch (command.cmd) {
    case 'kill':
      for (const name of command.names) killed.add(name);
      send({ event: 'killed', count: fleet.kill(command.names) });
      return;
    case 'churn':
      fleet.startChurn(command.perSecond, (agent) => !killed.has(agent.name));
      return;
    case 'stop-churn':
      fleet.stopChurn();
      return;
    case 'counters':
      send({
        event: 'counters',
        counters: {
          ...fleet.counters(),
          runningSlots: fleet.runningSlots((agent) => !killed.has(agent.name)),
          churnKills: fleet.churnKills,
        },
      });
      return;
    case 'wait-running':
      void untilRunning(command.expected, command.trace === true);
      return;
  }
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    fleet.stop();
    cleanUp();
    setTimeout(() => process.exit(0), 200);
  });
}
// A parent that goes away takes its fleet with it.
process.on('disconnect', () => {
  fleet.stop();
  cleanUp();
  process.exit(0);
});

const startedAt = performance.now();
try {
  await fleet.start();
} catch (error) {
  send({ event: 'failed', message: error instanceof Error ? error.message : String(error) });
  throw error;
}
send({ event: 'started', nodes: fleet.agents.length, ms: performance.now() - startedAt });
log(`${fleet.agents.length} simulated agents registered with ${serverUrl}`);

/**
 * Polls the live agents' engines (cheap: in memory) until `expected` slots run on them. With
 * `trace`, the answer also holds the count at each look, this process's event-loop delay
 * meanwhile (is the fleet itself behind?) and when each live agent last received an assignment.
 */
async function untilRunning(expected: number, trace: boolean): Promise<void> {
  const samples: [number, number][] = [];
  const delay = trace ? monitorEventLoopDelay({ resolution: 5 }) : undefined;
  delay?.enable();
  const live = (agent: FleetAgent) => !killed.has(agent.name);
  let running = fleet.runningSlots(live);
  for (;;) {
    if (trace) samples.push([performance.timeOrigin + performance.now(), running]);
    if (running >= expected) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
    running = fleet.runningSlots(live);
  }
  if (!delay) return void send({ event: 'running', running });
  delay.disable();
  send({
    event: 'running',
    running,
    samples,
    loopDelayP99Ms: delay.percentile(99) / 1e6,
    loopDelayMaxMs: delay.max / 1e6,
    assignedAt: fleet.agents.filter(live).flatMap((agent) => agent.lastAssignedAt ?? []),
  });
}

function delayOption(text: string): DelayMs {
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return { minMs: Number(range[1]), maxMs: Number(range[2]) };
  return integerOption('start-delay-ms', text, 0, 600_000);
}
