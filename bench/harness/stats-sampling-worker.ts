/**
 * The worker of bench/stats.ts: samples the given containers every interval one way (`oneshot`:
 * the agent's sampler on Docker's one-shot stats; `stream`: a stats stream per container;
 * `cgroup`: the agent's sampler on the kernel's files, stats-cgroup-usage.ts; `idle`: nothing),
 * builds and serializes the `stats` message each interval, and on SIGTERM prints how many it made. Its own process, so its CPU and RSS are the method's.
 *
 *   node bench/harness/stats-sampling-worker.ts --method oneshot --ids ID,ID --interval-ms 5000
 */
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import {
  DockerUsageSource,
  dockerStatsSchema,
  usageFromDockerStats,
  usageSourceFor,
} from '../../src/agent/stats-docker-usage.ts';
import { readNodeUsage } from '../../src/agent/stats-node-usage.ts';
import type { SampledContainer } from '../../src/agent/stats-sampler.ts';
import { StatsSampler, statsMessageOf } from '../../src/agent/stats-sampler.ts';
import type { ContainerUsage } from '../../src/agent/stats-usage.ts';

type Method = 'idle' | 'oneshot' | 'stream' | 'cgroup';
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function worker(method: Method, ids: string[], intervalMs: number): Promise<void> {
  const docker = new Docker();
  const containers: SampledContainer[] = ids.map((id, slot) => ({
    id,
    taskId: `t${slot}`,
    service: 'bench',
    slot,
  }));
  let sent = 0;
  let bytes = 0;
  const send = (message: unknown) => {
    const text = JSON.stringify(message);
    sent += 1;
    bytes += text.length;
  };
  const info = (await docker.info()) as { DockerRootDir: string; MemTotal: number };
  if (method === 'oneshot') {
    new StatsSampler({
      usage: new DockerUsageSource(),
      containers: () => containers,
      intervalMs,
      send,
      now: Date.now,
      onError: (error) => process.stderr.write(`${errorText(error)}\n`),
    }).start();
  } else if (method === 'stream') {
    const latest = new Map<string, ContainerUsage>();
    for (const container of containers) {
      const stream = (await docker
        .getContainer(container.id)
        .stats({ stream: true })) as NodeJS.ReadableStream;
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const parsed = dockerStatsSchema.safeParse(JSON.parse(line));
          if (parsed.success)
            latest.set(container.id, usageFromDockerStats(parsed.data, info.MemTotal, Date.now()));
        }
      });
    }
    setInterval(async () => {
      const node = await readNodeUsage(info.DockerRootDir, Date.now());
      send(
        statsMessageOf(
          intervalMs,
          node,
          containers.map((c) => ({ container: c, usage: latest.get(c.id) })),
        ),
      );
    }, intervalMs);
  } else if (method === 'cgroup') {
    // The agent's own source for a local engine: the kernel's files, the engine for what they cannot tell.
    const usage = usageSourceFor(undefined);
    new StatsSampler({
      usage,
      containers: () => containers,
      intervalMs,
      send,
      now: Date.now,
      onError: (error) => process.stderr.write(`${errorText(error)}\n`),
    }).start();
  } else {
    setInterval(() => {}, intervalMs);
  }
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ sent, bytes })}\n`);
    process.exit(0);
  });
}

const { values } = parseArgs({
  options: { method: { type: 'string' }, ids: { type: 'string' }, 'interval-ms': { type: 'string' } },
});
void worker(
  (values.method ?? 'idle') as Method,
  (values.ids ?? '').split(',').filter(Boolean),
  Number(values['interval-ms'] ?? 5000),
);
