import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeStats, ReplicaStats } from '../stats/stats-schema.ts';
import { formatStatsFrame } from './stats-table.ts';

const MiB = 1024 * 1024;

const replica: ReplicaStats = {
  task_id: 't1',
  service: 'web',
  slot: 0,
  replica: 'web-0',
  node: 'node-1',
  container_id: 'c1',
  at: '2026-12-01T12:00:00.000Z',
  cpu_percent: 99.514,
  cpu_seconds: 12,
  memory_working_set_bytes: 40 * MiB,
  memory_limit_bytes: 64 * MiB,
  memory_percent: 62.5,
  network_rx_bytes: 1536,
  network_tx_bytes: 0,
  network_rx_bytes_per_second: null,
  network_tx_bytes_per_second: null,
  block_read_bytes: 0,
  block_write_bytes: 2 * MiB,
  pids: 3,
};

const node: NodeStats = {
  node: 'node-1',
  at: '2026-12-01T12:00:00.000Z',
  cpu_percent: 51,
  cpu_count: 2,
  cpu_seconds: 1000,
  memory_used_bytes: 2048 * MiB,
  memory_total_bytes: 8192 * MiB,
  memory_percent: 25,
  disk_path: '/var/lib/docker',
  disk_used_bytes: 10 * 1024 * MiB,
  disk_total_bytes: 40 * 1024 * MiB,
  disk_percent: 25,
};

test('a frame is the replicas in docker stats columns, then the nodes', () => {
  assert.deepEqual(
    formatStatsFrame(
      [replica, { ...replica, replica: 'web-1', cpu_percent: null, memory_limit_bytes: null, pids: null }],
      [node],
    ),
    [
      'REPLICA  NODE    CPU %   MEM USAGE / LIMIT  MEM %   NET I/O     BLOCK I/O  PIDS',
      'web-0    node-1  99.51%  40Mi / 64Mi        62.50%  1.5Ki / 0B  0B / 2Mi   3',
      'web-1    node-1  --      40Mi / none        62.50%  1.5Ki / 0B  0B / 2Mi   --',
      '',
      'NODE    CPU %   CPUS  MEM USED / TOTAL  MEM %   DISK USED / TOTAL  DISK %',
      'node-1  51.00%  2     2Gi / 8Gi         25.00%  10Gi / 40Gi        25.00%',
    ],
  );
});

test("a service's frame has no node table", () => {
  assert.equal(formatStatsFrame([replica]).length, 2);
});
