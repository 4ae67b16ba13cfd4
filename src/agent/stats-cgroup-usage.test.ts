import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CgroupUsageSource, cgroupDirsOf, parseNetDev, readCgroupUsage } from './stats-cgroup-usage.ts';
import type { ContainerUsage, UsageSource } from './stats-usage.ts';

const MiB = 1024 * 1024;
const ID = '7f3227941f51c1fb0cbefd44fe1f842fdff2db58a4f8888f35b2023705edcad2';

const V1_PROC_CGROUP = [
  '12:pids:/docker/ID',
  '11:memory:/docker/ID',
  '6:blkio:/docker/ID',
  '4:cpu,cpuacct:/docker/ID',
  '1:name=systemd:/docker/ID',
  '0::/system.slice/containerd.service',
]
  .join('\n')
  .replaceAll('ID', ID);

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0:    2048      10    0    0    0     0          0         0      512       4    0    0    0     0       0          0
`;

test('cgroup v1: a directory per controller, when the path names the container', () => {
  assert.deepEqual(cgroupDirsOf(V1_PROC_CGROUP, ID), {
    version: 1,
    cpu: `/sys/fs/cgroup/cpuacct/docker/${ID}`,
    memory: `/sys/fs/cgroup/memory/docker/${ID}`,
    blkio: `/sys/fs/cgroup/blkio/docker/${ID}`,
    pids: `/sys/fs/cgroup/pids/docker/${ID}`,
  });
  assert.equal(
    cgroupDirsOf(V1_PROC_CGROUP, 'another-container'),
    undefined,
    'a reused PID is not the container',
  );
});

test('cgroup v2: one directory (systemd driver scope)', () => {
  const dirs = cgroupDirsOf(`0::/system.slice/docker-${ID}.scope\n`, ID);
  assert.equal(dirs?.version, 2);
  assert.equal(dirs?.memory, `/sys/fs/cgroup/system.slice/docker-${ID}.scope`);
  assert.equal(cgroupDirsOf('0::/user.slice\n', ID), undefined);
});

test('/proc/<pid>/net/dev: every interface but loopback', () => {
  assert.deepEqual(parseNetDev(NET_DEV), { rxBytes: 2048, txBytes: 512 });
});

function files(entries: Record<string, string>) {
  return (path: string) => {
    const text = entries[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
    return text;
  };
}

test('v1 files as usage: working set without inactive file, no limit is none', () => {
  const dirs = cgroupDirsOf(V1_PROC_CGROUP, ID);
  assert.ok(dirs);
  const read = files({
    [`${dirs.cpu}/cpuacct.usage`]: '2500000000\n',
    [`${dirs.memory}/memory.usage_in_bytes`]: `${50 * MiB}\n`,
    [`${dirs.memory}/memory.stat`]: `cache 1\ninactive_file 7\ntotal_inactive_file ${10 * MiB}\n`,
    [`${dirs.memory}/memory.limit_in_bytes`]: '9223372036854771712\n',
    [`${dirs.blkio}/blkio.throttle.io_service_bytes_recursive`]:
      '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Total 12288\nTotal 12288\n',
    [`${dirs.pids}/pids.current`]: '3\n',
  });
  assert.deepEqual(readCgroupUsage(dirs, NET_DEV, read, 8192 * MiB, 42), {
    atMs: 42,
    cpuSeconds: 2.5,
    memoryWorkingSetBytes: 40 * MiB,
    memoryLimitBytes: null,
    networkRxBytes: 2048,
    networkTxBytes: 512,
    blockReadBytes: 4096,
    blockWriteBytes: 8192,
    pids: 3,
  });
});

test('v2 files as usage, with a limit', () => {
  const dirs = cgroupDirsOf(`0::/docker/${ID}\n`, ID);
  assert.ok(dirs);
  const read = files({
    [`${dirs.cpu}/cpu.stat`]: 'usage_usec 1500000\nuser_usec 1000000\n',
    [`${dirs.memory}/memory.current`]: `${20 * MiB}\n`,
    [`${dirs.memory}/memory.stat`]: `anon 1\ninactive_file ${5 * MiB}\n`,
    [`${dirs.memory}/memory.max`]: `${64 * MiB}\n`,
    [`${dirs.blkio}/io.stat`]: '8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n',
    [`${dirs.pids}/pids.current`]: '1\n',
  });
  const usage = readCgroupUsage(dirs, NET_DEV, read, 8192 * MiB, 0);
  assert.equal(usage.cpuSeconds, 1.5);
  assert.equal(usage.memoryWorkingSetBytes, 15 * MiB);
  assert.equal(usage.memoryLimitBytes, 64 * MiB);
  assert.equal(usage.blockReadBytes, 100);
  assert.equal(usage.blockWriteBytes, 200);
});

const engineUsage: ContainerUsage = {
  atMs: 1,
  cpuSeconds: 99,
  memoryWorkingSetBytes: 1,
  memoryLimitBytes: null,
  networkRxBytes: 0,
  networkTxBytes: 0,
  blockReadBytes: 0,
  blockWriteBytes: 0,
  pids: null,
};

test('unreadable files go to the engine, and stay there without another inspect', async () => {
  let engineAsked = 0;
  let inspects = 0;
  const fallback: UsageSource = {
    container: async () => {
      engineAsked++;
      return engineUsage;
    },
    node: async () => {
      throw new Error('not in this test');
    },
  };
  const source = new CgroupUsageSource({
    fallback,
    pidOf: async () => {
      inspects++;
      return 1234;
    },
    hostMemoryBytes: async () => 8192 * MiB,
    // The process is visible and the container's, but its cgroup files are not (an unknown layout).
    read: files({ '/proc/1234/cgroup': V1_PROC_CGROUP }),
  });
  assert.equal((await source.container(ID))?.cpuSeconds, 99);
  assert.equal((await source.container(ID))?.cpuSeconds, 99);
  assert.equal(engineAsked, 2);
  assert.equal(inspects, 1);
  assert.equal(source.readsFromKernel(ID), false);
});

test('a PID that is not the container is never read as it', async () => {
  const source = new CgroupUsageSource({
    fallback: { container: async () => undefined, node: async () => ({}) as never },
    pidOf: async () => 1234,
    hostMemoryBytes: async () => 8192 * MiB,
    read: files({
      '/proc/1234/cgroup': V1_PROC_CGROUP.replaceAll(ID, 'someone-else'),
      '/proc/1234/net/dev': NET_DEV,
    }),
  });
  assert.equal(await source.container(ID), undefined);
});
