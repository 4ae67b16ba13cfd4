import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatCores, formatLocalTime, formatSpan } from './human-units.ts';

test('cores with at most two decimals', () => {
  assert.equal(formatCores(500), '0.5');
  assert.equal(formatCores(2000), '2');
  assert.equal(formatCores(1234), '1.23');
  assert.equal(formatCores(0), '0');
});

test('bytes in binary units with one decimal', () => {
  assert.equal(formatBytes(512 * 1024 ** 2), '512Mi');
  assert.equal(formatBytes(Math.round(23.4 * 1024 ** 3)), '23.4Gi');
  assert.equal(formatBytes(0), '0B');
  assert.equal(formatBytes(1536), '1.5Ki');
  assert.equal(formatBytes(1024 ** 3 - 1), '1Gi');
});

test('spans in the largest unit that fits, rounded down', () => {
  assert.equal(formatSpan(45_000), '45s');
  assert.equal(formatSpan(5 * 60_000 + 59_000), '5m');
  assert.equal(formatSpan(2 * 3_600_000), '2h');
  assert.equal(formatSpan(3 * 86_400_000 + 1), '3d');
  assert.equal(formatSpan(-5000), '0s');
});

test('timestamps in local time, whatever the zone', () => {
  const local = new Date(2024, 0, 15, 10, 23, 45);
  assert.equal(formatLocalTime(local.toISOString()), '2024-01-15 10:23:45');
  assert.equal(formatLocalTime('not a time'), 'not a time');
});
