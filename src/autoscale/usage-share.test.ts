import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usageShare } from './usage-share.ts';

const MIB = 1024 * 1024;
/** One sample every 5 s, burning `cores` and holding `mib` of memory. */
const series = (cores: number, mib: number, count = 13, start = 0) =>
  Array.from({ length: count }, (_, i) => ({
    at: start + i * 5000,
    cpu_seconds: 100 + cores * i * 5,
    memory_working_set_bytes: mib * MIB,
  }));

test('CPU is the counter’s growth over the window, as a share of the limit; memory the mean', () => {
  const share = usageShare([series(0.5, 64), series(0.3, 32)], { cpus: 0.5, memoryMb: 128 }, 60_000, 60_000);
  assert.equal(share.measured, 2);
  assert.ok(Math.abs((share.cpuShare ?? 0) - 0.8) < 1e-9, String(share.cpuShare));
  assert.ok(Math.abs((share.memoryShare ?? 0) - 0.375) < 1e-9);
});

test('only samples inside the window count; a replica with one sample is not measured', () => {
  const old = series(1, 10, 13, -120_000);
  const share = usageShare([old, series(0.25, 10, 1)], { cpus: 1 }, 60_000, 60_000);
  assert.deepEqual(share, { cpuShare: null, memoryShare: null, measured: 0 });
});
