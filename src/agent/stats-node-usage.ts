/**
 * The host's own usage: CPU from /proc/stat, memory from /proc/meminfo (used = MemTotal −
 * MemAvailable, what `free` calls used), disk from statfs of the engine's data root (images,
 * containers' writable layers and volumes live there: the disk that fills). The parsers are pure.
 */
import { readFile, statfs } from 'node:fs/promises';
import type { NodeUsage } from './stats-usage.ts';

/** Linux reports /proc/stat in USER_HZ, 100 on every architecture Node runs on. */
const USER_HZ = 100;

/** Non-idle CPU seconds since boot (all cores) and the core count, from /proc/stat. */
export function parseProcStat(text: string): { cpuSeconds: number; cpuCount: number } {
  let cpuSeconds = 0;
  let cpuCount = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      // user nice system idle iowait irq softirq steal (guest time is already inside user)
      const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
      const total = fields.reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
      const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
      cpuSeconds = (total - idle) / USER_HZ;
    } else if (/^cpu\d+ /.test(line)) cpuCount += 1;
  }
  return { cpuSeconds, cpuCount: Math.max(1, cpuCount) };
}

/** MemTotal and MemTotal − MemAvailable, bytes, from /proc/meminfo. */
export function parseMeminfo(text: string): { usedBytes: number; totalBytes: number } {
  const kib = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const totalBytes = kib('MemTotal') ?? 0;
  const availableBytes = kib('MemAvailable') ?? kib('MemFree') ?? 0;
  return { usedBytes: Math.max(0, totalBytes - availableBytes), totalBytes };
}

/** The host's usage now; the data root falls back to `/` when this host cannot see it (a remote engine). */
export async function readNodeUsage(dataRoot: string, atMs: number): Promise<NodeUsage> {
  const [stat, meminfo] = await Promise.all([
    readFile('/proc/stat', 'utf8'),
    readFile('/proc/meminfo', 'utf8'),
  ]);
  const cpu = parseProcStat(stat);
  const memory = parseMeminfo(meminfo);
  let diskPath = dataRoot;
  const disk = await statfs(dataRoot).catch(() => {
    diskPath = '/';
    return statfs('/');
  });
  const totalBytes = disk.blocks * disk.bsize;
  return {
    atMs,
    cpuSeconds: cpu.cpuSeconds,
    cpuCount: cpu.cpuCount,
    memoryUsedBytes: memory.usedBytes,
    memoryTotalBytes: memory.totalBytes,
    diskPath,
    // Used as df counts it: what is not free (reserved blocks included).
    diskUsedBytes: Math.max(0, totalBytes - disk.bfree * disk.bsize),
    diskTotalBytes: totalBytes,
  };
}
