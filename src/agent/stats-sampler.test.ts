import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readStatsSamples } from '../protocol/stats-message.ts';
import { dockerStatsSchema, usageFromDockerStats } from './stats-docker-usage.ts';
import { parseMeminfo, parseProcStat } from './stats-node-usage.ts';
import type { SampledContainer } from './stats-sampler.ts';
import { StatsSampler, statsMessageOf } from './stats-sampler.ts';
import type { ContainerUsage, NodeUsage, UsageSource } from './stats-usage.ts';

const MiB = 1024 * 1024;
const HOST_MEMORY = 8192 * MiB;

/** What dockerd 20.10 answers on cgroup v1 (trimmed to what is read). */
const V1 = {
  read: '2026-12-01T16:50:19.468620229Z',
  pids_stats: { current: 3 },
  blkio_stats: {
    io_service_bytes_recursive: [
      { major: 8, minor: 0, op: 'Read', value: 4096 },
      { major: 8, minor: 0, op: 'Write', value: 8192 },
      { major: 8, minor: 0, op: 'Sync', value: 12288 },
      { major: 8, minor: 0, op: 'Total', value: 12288 },
    ],
  },
  cpu_stats: { cpu_usage: { total_usage: 2_500_000_000 }, system_cpu_usage: 20938790000000, online_cpus: 2 },
  memory_stats: {
    usage: 50 * MiB,
    limit: 64 * MiB,
    stats: { total_inactive_file: 10 * MiB, inactive_file: 1 * MiB, cache: 12 * MiB },
  },
  networks: { eth0: { rx_bytes: 290, tx_bytes: 10 }, eth1: { rx_bytes: 10, tx_bytes: 5 } },
};

test("Docker's stats as usage: working set is usage minus inactive file, counters summed", () => {
  const usage = usageFromDockerStats(dockerStatsSchema.parse(V1), HOST_MEMORY, 0);
  assert.deepEqual(usage, {
    atMs: Date.parse('2026-12-01T16:50:19.468Z'),
    cpuSeconds: 2.5,
    memoryWorkingSetBytes: 40 * MiB,
    memoryLimitBytes: 64 * MiB,
    networkRxBytes: 300,
    networkTxBytes: 15,
    blockReadBytes: 4096,
    blockWriteBytes: 8192,
    pids: 3,
  });
});

test('cgroup v2: inactive_file and lower-case ops; no limit is the host memory; no networks is zero', () => {
  const v2 = {
    read: '2026-12-01T16:50:19Z',
    cpu_stats: { cpu_usage: { total_usage: 1e9 } },
    memory_stats: { usage: 20 * MiB, limit: HOST_MEMORY, stats: { inactive_file: 5 * MiB } },
    blkio_stats: {
      io_service_bytes_recursive: [
        { op: 'read', value: 1 },
        { op: 'write', value: 2 },
      ],
    },
  };
  const usage = usageFromDockerStats(dockerStatsSchema.parse(v2), HOST_MEMORY, 0);
  assert.equal(usage.memoryWorkingSetBytes, 15 * MiB);
  assert.equal(usage.memoryLimitBytes, null);
  assert.equal(usage.blockReadBytes, 1);
  assert.equal(usage.blockWriteBytes, 2);
  assert.equal(usage.networkRxBytes, 0);
  assert.equal(usage.pids, null);
});

test('a working set never goes below zero', () => {
  const odd = { ...V1, memory_stats: { usage: MiB, limit: 0, stats: { total_inactive_file: 2 * MiB } } };
  const usage = usageFromDockerStats(dockerStatsSchema.parse(odd), HOST_MEMORY, 0);
  assert.equal(usage.memoryWorkingSetBytes, 0);
  assert.equal(usage.memoryLimitBytes, null);
});

test('/proc/stat: non-idle seconds over all cores, and the core count', () => {
  const text = [
    'cpu  1000 50 450 8000 500 0 0 0 0 0',
    'cpu0 500 25 225 4000 250 0 0 0 0 0',
    'cpu1 500 25 225 4000 250 0 0 0 0 0',
    'intr 1',
  ].join('\n');
  assert.deepEqual(parseProcStat(text), { cpuSeconds: 15, cpuCount: 2 });
});

test('/proc/meminfo: used is total minus available', () => {
  const text = 'MemTotal:        8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    6000000 kB\n';
  assert.deepEqual(parseMeminfo(text), { usedBytes: 2_000_000 * 1024, totalBytes: 8_000_000 * 1024 });
});

const container = (slot: number): SampledContainer => ({
  id: `c${slot}`,
  taskId: `t${slot}`,
  service: 'web',
  slot,
});
const usage = (atMs: number): ContainerUsage => ({
  atMs,
  cpuSeconds: 1,
  memoryWorkingSetBytes: MiB,
  memoryLimitBytes: null,
  networkRxBytes: 0,
  networkTxBytes: 0,
  blockReadBytes: 0,
  blockWriteBytes: 0,
  pids: null,
});
const node: NodeUsage = {
  atMs: 5,
  cpuSeconds: 1,
  cpuCount: 2,
  memoryUsedBytes: 1,
  memoryTotalBytes: 2,
  diskPath: '/',
  diskUsedBytes: 1,
  diskTotalBytes: 2,
};

test('a round as the wire message: containers without a reading are left out, and the server reads it whole', () => {
  const message = statsMessageOf(5000, node, [
    { container: container(0), usage: usage(1) },
    { container: container(1), usage: undefined },
  ]);
  assert.equal(message.replicas.length, 1);
  const read = readStatsSamples(message);
  assert.equal(read.dropped, 0);
  assert.equal(read.replicas[0]?.task_id, 't0');
  assert.equal(read.replicas[0]?.memory_limit_bytes, null);
  assert.equal(read.node?.cpu_count, 2);
});

test('a round reads every container at once, and a failing read or host leaves only that reading out', async () => {
  let inFlight = 0;
  let most = 0;
  const source: UsageSource = {
    async container(id) {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      if (id === 'c3') throw new Error('gone');
      return usage(10);
    },
    async node() {
      throw new Error('no /proc');
    },
  };
  const errors: unknown[] = [];
  const sampler = new StatsSampler({
    usage: source,
    containers: () => [0, 1, 2, 3, 4].map(container),
    intervalMs: 5000,
    send: () => {},
    now: Date.now,
    onError: (error) => errors.push(error),
  });
  const message = await sampler.sample();
  assert.equal(most, 5);
  assert.deepEqual(
    readStatsSamples(message).replicas.map((r) => r.task_id),
    ['t0', 't1', 't2', 't4'],
  );
  assert.equal(message.node, undefined);
  assert.equal(errors.length, 1);
});

test('a started sampler sends a round at once (starting twice changes nothing) and stops when stopped', async () => {
  const sent: unknown[] = [];
  let firstSent: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    firstSent = resolve;
  });
  const source: UsageSource = { container: async () => usage(1), node: async () => node };
  const sampler = new StatsSampler({
    usage: source,
    containers: () => [container(0)],
    intervalMs: 60_000,
    send: (message) => {
      sent.push(message);
      firstSent();
    },
    now: Date.now,
    onError: () => {},
  });
  sampler.start();
  sampler.start();
  await first;
  assert.equal(sent.length, 1);
  assert.equal(sampler.started, true);
  sampler.stop();
  assert.equal(sampler.started, false);
});

test("a server's longer interval is taken, a shorter one or none keeps the configured one", async () => {
  const source: UsageSource = {
    container: async () => usage(10),
    node: async () => {
      throw new Error('no /proc');
    },
  };
  const sampler = new StatsSampler({
    usage: source,
    containers: () => [],
    intervalMs: 5000,
    send: () => {},
    now: Date.now,
    onError: () => {},
  });
  sampler.setInterval(25_000);
  assert.equal(sampler.intervalMs, 25_000);
  assert.equal((await sampler.sample()).interval_ms, 25_000, 'the message says the interval it keeps');
  sampler.setInterval(1000);
  assert.equal(sampler.intervalMs, 5000, 'never shorter than its own --stats-interval');
  sampler.setInterval(undefined);
  assert.equal(sampler.intervalMs, 5000);
});
