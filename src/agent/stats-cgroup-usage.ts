/**
 * Resource usage read straight from the kernel, for containers of an engine on this host: the
 * container's cgroup files (CPU, memory, block I/O, pids; cgroup v1 or v2) and its network
 * namespace's /proc/<pid>/net/dev. `npm run bench:stats` measured it at a tenth of what Docker's
 * one-shot stats cost the agent and the engine together (src/agent/README.md), because dockerd
 * is not asked at all. Each read first checks that the PID (from one inspect per container) still
 * belongs to the container (its /proc/<pid>/cgroup names the container id), so a reused PID is
 * never read as the container; anything unreadable (an agent in a container of its own without
 * the host's /proc, a cgroup layout this does not know) is asked of the `fallback` instead.
 * The parsers are pure.
 */
import { readFileSync } from 'node:fs';
import type { ContainerUsage, NodeUsage, UsageSource } from './stats-usage.ts';

/** Where a process's cgroup files are: one directory per controller (v1) or one for all (v2). */
export interface CgroupDirs {
  readonly version: 1 | 2;
  readonly cpu: string;
  readonly memory: string;
  readonly blkio: string;
  readonly pids: string;
}

/**
 * The cgroup directories of a process from its /proc/<pid>/cgroup, when they are the container's
 * (the path names `containerId`, as both the cgroupfs and the systemd drivers do); else undefined.
 */
export function cgroupDirsOf(
  procCgroup: string,
  containerId: string,
  root = '/sys/fs/cgroup',
): CgroupDirs | undefined {
  const v1 = new Map<string, string>();
  let unified: string | undefined;
  for (const line of procCgroup.trim().split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === '') unified = path;
    for (const controller of controllers.split(',')) if (controller) v1.set(controller, path);
  }
  const memory = v1.get('memory');
  if (memory !== undefined) {
    const cpu = v1.get('cpuacct') ?? v1.get('cpu');
    const blkio = v1.get('blkio');
    const pids = v1.get('pids');
    if (!memory.includes(containerId) || cpu === undefined || blkio === undefined || pids === undefined)
      return undefined;
    return {
      version: 1,
      cpu: `${root}/cpuacct${cpu}`,
      memory: `${root}/memory${memory}`,
      blkio: `${root}/blkio${blkio}`,
      pids: `${root}/pids${pids}`,
    };
  }
  if (unified === undefined || !unified.includes(containerId)) return undefined;
  const dir = `${root}${unified}`;
  return { version: 2, cpu: dir, memory: dir, blkio: dir, pids: dir };
}

/** A `key value` line's value in a stat file (memory.stat, cpu.stat). */
function statValue(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Bytes received and sent on every interface but loopback, from /proc/<pid>/net/dev. */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() === 'lo') continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    rxBytes += fields[0] ?? 0;
    txBytes += fields[8] ?? 0;
  }
  return { rxBytes, txBytes };
}

export type ReadText = (path: string) => string;

/** One container's usage from its cgroup files (throws when one is unreadable). */
export function readCgroupUsage(
  dirs: CgroupDirs,
  netDev: string,
  read: ReadText,
  hostMemoryBytes: number,
  atMs: number,
): ContainerUsage {
  const net = parseNetDev(netDev);
  let cpuSeconds: number;
  let usage: number;
  let inactiveFile: number;
  let limit: number;
  let blockReadBytes = 0;
  let blockWriteBytes = 0;
  if (dirs.version === 1) {
    cpuSeconds = Number(read(`${dirs.cpu}/cpuacct.usage`)) / 1e9;
    usage = Number(read(`${dirs.memory}/memory.usage_in_bytes`));
    inactiveFile = statValue(read(`${dirs.memory}/memory.stat`), 'total_inactive_file') ?? 0;
    limit = Number(read(`${dirs.memory}/memory.limit_in_bytes`));
    for (const line of read(`${dirs.blkio}/blkio.throttle.io_service_bytes_recursive`).split('\n')) {
      const [, op, value] = line.split(' ');
      if (op === 'Read') blockReadBytes += Number(value);
      else if (op === 'Write') blockWriteBytes += Number(value);
    }
  } else {
    cpuSeconds = (statValue(read(`${dirs.cpu}/cpu.stat`), 'usage_usec') ?? 0) / 1e6;
    usage = Number(read(`${dirs.memory}/memory.current`));
    inactiveFile = statValue(read(`${dirs.memory}/memory.stat`), 'inactive_file') ?? 0;
    const max = read(`${dirs.memory}/memory.max`).trim();
    limit = max === 'max' ? 0 : Number(max);
    let io = '';
    try {
      io = read(`${dirs.blkio}/io.stat`);
    } catch {
      // No io controller delegated: no block I/O to report.
    }
    for (const match of io.matchAll(/rbytes=(\d+) wbytes=(\d+)/g)) {
      blockReadBytes += Number(match[1]);
      blockWriteBytes += Number(match[2]);
    }
  }
  const pids = Number(read(`${dirs.pids}/pids.current`));
  if (![cpuSeconds, usage, inactiveFile, limit].every(Number.isFinite))
    throw new Error('unreadable cgroup counters');
  return {
    atMs,
    cpuSeconds,
    memoryWorkingSetBytes: Math.max(0, usage - inactiveFile),
    // v1 says "no limit" as a huge number (2^63 rounded to pages); either way, not below the host.
    memoryLimitBytes: limit > 0 && (hostMemoryBytes <= 0 || limit < hostMemoryBytes) ? limit : null,
    networkRxBytes: net.rxBytes,
    networkTxBytes: net.txBytes,
    blockReadBytes,
    blockWriteBytes,
    pids: Number.isFinite(pids) ? pids : null,
  };
}

export interface CgroupUsageOptions {
  /** Asked when the kernel's files cannot be read, and for the host's usage. */
  readonly fallback: UsageSource;
  /** A running container's main PID (the engine's inspect), undefined when it has none. */
  readonly pidOf: (id: string) => Promise<number | undefined>;
  readonly hostMemoryBytes: () => Promise<number>;
  readonly read?: ReadText;
  readonly now?: () => number;
}

/** Containers' PIDs kept at most; far above what one node runs. */
const MAX_KNOWN_PIDS = 10_000;

export class CgroupUsageSource implements UsageSource {
  readonly #options: CgroupUsageOptions;
  readonly #read: ReadText;
  readonly #now: () => number;
  readonly #pids = new Map<string, number>();
  /** Containers whose files could not be read: the engine is asked for them, without another try. */
  readonly #viaEngine = new Set<string>();

  constructor(options: CgroupUsageOptions) {
    this.#options = options;
    this.#read = options.read ?? ((path) => readFileSync(path, 'utf8'));
    this.#now = options.now ?? Date.now;
  }

  async container(id: string): Promise<ContainerUsage | undefined> {
    const usage = this.#viaEngine.has(id) ? undefined : await this.#fromKernel(id);
    return usage ?? this.#options.fallback.container(id);
  }

  /** Whether a container is read from the kernel (false once its files proved unreadable). */
  readsFromKernel(id: string): boolean {
    return this.#pids.has(id) && !this.#viaEngine.has(id);
  }

  node(): Promise<NodeUsage> {
    return this.#options.fallback.node();
  }

  async #fromKernel(id: string): Promise<ContainerUsage | undefined> {
    let pid = this.#pids.get(id);
    if (pid === undefined) {
      pid = await this.#options.pidOf(id).catch(() => undefined);
      // Not running (the engine's answer will say so), or gone.
      if (pid === undefined || pid <= 0) return undefined;
      if (this.#pids.size >= MAX_KNOWN_PIDS) this.#pids.clear();
      if (this.#viaEngine.size >= MAX_KNOWN_PIDS) this.#viaEngine.clear();
      this.#pids.set(id, pid);
    }
    let procCgroup: string;
    try {
      procCgroup = this.#read(`/proc/${pid}/cgroup`);
    } catch {
      // The process is gone (the container stopped, or this host's /proc does not show it).
      this.#pids.delete(id);
      return undefined;
    }
    const dirs = cgroupDirsOf(procCgroup, id);
    if (!dirs) {
      // A layout this does not know, or a PID that is no longer the container's.
      this.#pids.delete(id);
      this.#viaEngine.add(id);
      return undefined;
    }
    try {
      const netDev = this.#read(`/proc/${pid}/net/dev`);
      return readCgroupUsage(dirs, netDev, this.#read, await this.#options.hostMemoryBytes(), this.#now());
    } catch {
      this.#viaEngine.add(id);
      return undefined;
    }
  }
}
