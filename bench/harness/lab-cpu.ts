/**
 * Where a lab run's CPU goes, by host and by kind of process: a snapshot of every process in a lab
 * host's network namespace (its agent, dockerd, containerd, shims, docker-proxy) and of the
 * server (and the bench itself), each counted with its reaped children (the iptables and ip the agent and dockerd run,
 * the runc a shim runs), so two snapshots give CPU seconds spent between them, which load barely
 * moves (a slow machine makes them take longer, not cost more). Processes born and gone between
 * two snapshots count only through a parent that reaped them.
 */
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { CLOCK_TICKS_PER_S, cpuTicksSplit, machineTicks, processName } from './proc.ts';

export interface CpuSnapshot {
  /** `pid` (its own CPU) and `pid+` (its reaped children's) → [group, ticks]. */
  readonly processes: ReadonlyMap<string, readonly [string, number]>;
  readonly machineBusy: number;
}

/** The group a process of host `host` falls in, by its command name. */
function groupOf(host: number, name: string): string {
  // Node names its main thread MainThread.
  if (name === 'node' || name === 'MainThread' || name.startsWith('skiff')) return `h${host} agent`;
  if (name === 'dockerd') return `h${host} dockerd`;
  if (name.startsWith('containerd-shim') || name === 'runc') return `h${host} shims`;
  if (name === 'iptables-restor' || name === 'iptables-save' || name === 'iptables' || name === 'ip')
    return `h${host} iptables, ip (unreaped)`;
  if (name === 'containerd') return `h${host} containerd`;
  if (name === 'docker-proxy') return `h${host} docker-proxy`;
  return `h${host} other (${name})`;
}

export function cpuSnapshot(hosts: readonly number[], serverPid: number | undefined): CpuSnapshot {
  const netns = new Map<string, number>();
  for (const host of hosts) {
    try {
      netns.set(`net:[${statSync(`/var/run/netns/skiff-lab-h${host}`).ino}]`, host);
    } catch {
      // A host without a namespace (not up): nothing of it to count.
    }
  }
  const processes = new Map<string, readonly [string, number]>();
  const add = (pid: number, group: string) => {
    const { own, children } = cpuTicksSplit(pid);
    processes.set(String(pid), [group, own]);
    // What a process spawned (the agent's iptables and ip, dockerd's iptables) apart from it.
    processes.set(`${pid}+`, [`${group}'s children`, children]);
  };
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid < 2) continue;
    try {
      if (pid === serverPid || pid === process.pid) {
        add(pid, pid === serverPid ? 'server' : 'bench');
        continue;
      }
      const host = netns.get(readlinkSync(`/proc/${pid}/ns/net`));
      if (host === undefined) continue;
      add(pid, groupOf(host, processName(pid)));
    } catch {
      // Gone while we looked.
    }
  }
  return { processes, machineBusy: machineTicks().busy };
}

/** CPU seconds by group between two snapshots, and the machine's busy seconds beside them. */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): { group: string; seconds: number }[] {
  const byGroup = new Map<string, number>();
  for (const [pid, [group, ticks]] of after.processes) {
    const earlier = before.processes.get(pid);
    const spent = ticks - (earlier !== undefined && earlier[0] === group ? earlier[1] : 0);
    byGroup.set(group, (byGroup.get(group) ?? 0) + spent);
  }
  for (const [group, ticks] of [...byGroup]) if (ticks === 0) byGroup.delete(group);
  const rows = [...byGroup]
    .map(([group, ticks]) => ({ group, seconds: ticks / CLOCK_TICKS_PER_S }))
    .sort((a, b) => (a.group < b.group ? -1 : 1));
  rows.push({
    group: 'machine (busy)',
    seconds: (after.machineBusy - before.machineBusy) / CLOCK_TICKS_PER_S,
  });
  return rows;
}
