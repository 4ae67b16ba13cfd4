/**
 * Reading Linux's /proc for the benches: a process's state and CPU time (utime + stime, in
 * USER_HZ ticks) and resident memory, and the whole machine's busy and total ticks. Used to see
 * an agent's or a server's CPU and memory, where a lab run's CPU went, and when a killed process
 * is really gone.
 */
import { readFileSync } from 'node:fs';

/** Linux USER_HZ: /proc counts CPU time in these ticks per second. */
export const CLOCK_TICKS_PER_S = 100;

/**
 * The fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3
 * (state), [11] and [12] are utime and stime. Throws when the process is gone.
 */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** A process's state letter (R, S, Z...); throws when the process is gone. */
export function processState(pid: number): string | undefined {
  return statFields(pid)[0];
}

/** utime + stime of a process, in clock ticks; throws when the process is gone. */
export function cpuTicks(pid: number): number {
  const fields = statFields(pid);
  return Number(fields[11]) + Number(fields[12]);
}

/** Busy and total CPU ticks of the whole machine, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const totalTicks = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: totalTicks - idle, total: totalTicks };
}

/** A process's resident set size in bytes (VmRSS of /proc/<pid>/status); throws when it is gone. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** A process's own CPU (utime + stime) and its reaped children's (cutime + cstime), in clock ticks. */
export function cpuTicksSplit(pid: number): { own: number; children: number } {
  const fields = statFields(pid);
  return {
    own: Number(fields[11]) + Number(fields[12]),
    children: Number(fields[13]) + Number(fields[14]),
  };
}

/** A process's command name (/proc/<pid>/comm); throws when it is gone. */
export function processName(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/**
 * A process's resident memory by kind, in bytes (/proc/<pid>/status): anonymous (the heaps: V8's,
 * malloc's) and file-backed (the mapped executable and libraries); throws when it is gone.
 */
export function rssParts(pid: number): { anonBytes: number; fileBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`no ${field} for process ${pid}`);
    return Number(match[1]) * 1024;
  };
  return { anonBytes: kb('RssAnon'), fileBytes: kb('RssFile') + kb('RssShmem') };
}
