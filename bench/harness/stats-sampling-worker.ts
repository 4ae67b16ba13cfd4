/**
 * The worker of bench/stats.ts: samples the given containers every interval one way (`oneshot`:
 * the agent's own sampler; `stream`: a stats stream per container; `cgroup`: the cgroup files and
 * /proc/<pid>/net/dev; `idle`: nothing), builds and serializes the `stats` message each interval,
 * and on SIGTERM prints how many it made. Its own process, so its CPU and RSS are the method's.
 *
 *   node bench/harness/stats-sampling-worker.ts --method oneshot --ids ID,ID --interval-ms 5000
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import {
  DockerUsageSource,
  dockerStatsSchema,
  usageFromDockerStats,
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
    const paths = new Map<string, CgroupPaths>();
    for (const container of containers) {
      const inspect = (await docker.getContainer(container.id).inspect()) as { State: { Pid: number } };
      paths.set(container.id, cgroupPathsOf(inspect.State.Pid));
    }
    const tick = async () => {
      const node = await readNodeUsage(info.DockerRootDir, Date.now());
      const readings = [];
      for (const container of containers) {
        const p = paths.get(container.id);
        readings.push({ container, usage: p ? await cgroupUsage(p, info.MemTotal) : undefined });
      }
      send(statsMessageOf(intervalMs, node, readings));
    };
    void tick();
    setInterval(() => void tick(), intervalMs);
  } else {
    setInterval(() => {}, intervalMs);
  }
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify({ sent, bytes })}\n`);
    process.exit(0);
  });
}

interface CgroupPaths {
  readonly version: 1 | 2;
  readonly cpu: string;
  readonly memory: string;
  readonly blkio: string;
  readonly pids: string;
  readonly pid: number;
}

/** Where a process's cgroups are: v1 has one hierarchy per controller, v2 one for all. */
function cgroupPathsOf(pid: number): CgroupPaths {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v1 = new Map<string, string>();
  let unified = '';
  for (const line of lines) {
    const [, controllers = '', path = ''] = line.split(':');
    if (controllers === '') unified = path;
    for (const controller of controllers.split(',')) v1.set(controller, path);
  }
  if (v1.has('memory')) {
    return {
      version: 1,
      cpu: `/sys/fs/cgroup/cpuacct${v1.get('cpuacct')}`,
      memory: `/sys/fs/cgroup/memory${v1.get('memory')}`,
      blkio: `/sys/fs/cgroup/blkio${v1.get('blkio')}`,
      pids: `/sys/fs/cgroup/pids${v1.get('pids')}`,
      pid,
    };
  }
  const root = `/sys/fs/cgroup${unified}`;
  return { version: 2, cpu: root, memory: root, blkio: root, pids: root, pid };
}

const statValue = (text: string, key: string) =>
  Number(new RegExp(`^${key} (\\d+)`, 'm').exec(text)?.[1] ?? 0);

async function cgroupUsage(p: CgroupPaths, hostMemoryBytes: number): Promise<ContainerUsage | undefined> {
  try {
    // Synchronous reads: for small files in /sys and /proc the cheapest Node has (no thread pool hop).
    const read = async (path: string) => readFileSync(path, 'utf8');
    const net = await read(`/proc/${p.pid}/net/dev`);
    let rx = 0;
    let tx = 0;
    for (const line of net.split('\n').slice(2)) {
      const [name, rest] = line.split(':');
      if (!rest || name?.trim() === 'lo') continue;
      const fields = rest.trim().split(/\s+/).map(Number);
      rx += fields[0] ?? 0;
      tx += fields[8] ?? 0;
    }
    let cpuSeconds: number;
    let usage: number;
    let inactiveFile: number;
    let limit: number;
    let blockRead = 0;
    let blockWrite = 0;
    let pids: number;
    if (p.version === 1) {
      const [cpu, mem, stat, lim, blk, pid] = await Promise.all([
        read(`${p.cpu}/cpuacct.usage`),
        read(`${p.memory}/memory.usage_in_bytes`),
        read(`${p.memory}/memory.stat`),
        read(`${p.memory}/memory.limit_in_bytes`),
        read(`${p.blkio}/blkio.throttle.io_service_bytes_recursive`),
        read(`${p.pids}/pids.current`),
      ]);
      cpuSeconds = Number(cpu) / 1e9;
      usage = Number(mem);
      inactiveFile = statValue(stat, 'total_inactive_file');
      limit = Number(lim);
      for (const line of blk.split('\n')) {
        const [, op, value] = line.split(' ');
        if (op === 'Read') blockRead += Number(value);
        if (op === 'Write') blockWrite += Number(value);
      }
      pids = Number(pid);
    } else {
      const [cpu, mem, stat, lim, io, pid] = await Promise.all([
        read(`${p.cpu}/cpu.stat`),
        read(`${p.memory}/memory.current`),
        read(`${p.memory}/memory.stat`),
        read(`${p.memory}/memory.max`),
        read(`${p.blkio}/io.stat`).catch(() => ''),
        read(`${p.pids}/pids.current`),
      ]);
      cpuSeconds = statValue(cpu, 'usage_usec') / 1e6;
      usage = Number(mem);
      inactiveFile = statValue(stat, 'inactive_file');
      limit = lim.trim() === 'max' ? 0 : Number(lim);
      for (const match of io.matchAll(/rbytes=(\d+) wbytes=(\d+)/g)) {
        blockRead += Number(match[1]);
        blockWrite += Number(match[2]);
      }
      pids = Number(pid);
    }
    return {
      atMs: Date.now(),
      cpuSeconds,
      memoryWorkingSetBytes: Math.max(0, usage - inactiveFile),
      memoryLimitBytes: limit > 0 && limit < hostMemoryBytes ? limit : null,
      networkRxBytes: rx,
      networkTxBytes: tx,
      blockReadBytes: blockRead,
      blockWriteBytes: blockWrite,
      pids,
    };
  } catch {
    return undefined;
  }
}

const { values } = parseArgs({
  options: { method: { type: 'string' }, ids: { type: 'string' }, 'interval-ms': { type: 'string' } },
});
void worker(
  (values.method ?? 'idle') as Method,
  (values.ids ?? '').split(',').filter(Boolean),
  Number(values['interval-ms'] ?? 5000),
);
