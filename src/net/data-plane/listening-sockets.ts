/**
 * Who holds a port on this host: the listening TCP and bound UDP sockets from /proc/net/{tcp,tcp6,
 * udp,udp6} (of the agent's own network namespace), and their owners from /proc/PID/fd. A kernel
 * path has no EADDRINUSE to notice, so the agent asks here before it claims a published port: a
 * DNAT of port 22 would silently take sshd's traffic. `parseProcNet` is pure; the rest reads /proc.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export type SocketProtocol = 'tcp' | 'udp';

export interface ListeningSocket {
  readonly protocol: SocketProtocol;
  readonly address: string;
  readonly port: number;
  readonly inode: number;
}

/** TCP_LISTEN; for UDP every socket with no peer (TCP_CLOSE, 07) is a bound listener. */
const LISTEN_STATE = { tcp: '0A', udp: '07' } as const;

/** One /proc/net file's rows in the given state. IPv6 addresses are printed in full, lowercase. */
export function parseProcNet(text: string, protocol: SocketProtocol): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, remote, state, inode] = [fields[1], fields[2], fields[3], fields[9]];
    if (!local || !state || !inode || state !== LISTEN_STATE[protocol]) continue;
    if (protocol === 'udp' && remote && !/^0+:0000$/.test(remote)) continue;
    const [hexAddress, hexPort] = local.split(':');
    if (!hexAddress || !hexPort) continue;
    const address = hexAddress.length === 8 ? ipv4(hexAddress) : ipv6(hexAddress);
    sockets.push({ protocol, address, port: Number.parseInt(hexPort, 16), inode: Number(inode) });
  }
  return sockets;
}

/** /proc prints each 32-bit word in host byte order (little-endian on the machines we run on). */
function word(hex: string): number[] {
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return bytes.reverse();
}

function ipv4(hex: string): string {
  return word(hex).join('.');
}

function ipv6(hex: string): string {
  const bytes = [0, 8, 16, 24].flatMap((i) => word(hex.slice(i, i + 8)));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  const text = groups.join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  const mapped = /^0:0:0:0:0:ffff:([0-9a-f]+):([0-9a-f]+)$/.exec(text);
  if (mapped?.[1] && mapped[2]) {
    const high = Number.parseInt(mapped[1], 16);
    const low = Number.parseInt(mapped[2], 16);
    return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return text;
}

export function readListeningSockets(procRoot = '/proc'): ListeningSocket[] {
  const found: ListeningSocket[] = [];
  for (const [file, protocol] of [
    ['tcp', 'tcp'],
    ['tcp6', 'tcp'],
    ['udp', 'udp'],
    ['udp6', 'udp'],
  ] as const) {
    try {
      found.push(...parseProcNet(readFileSync(`${procRoot}/net/${file}`, 'utf8'), protocol));
    } catch {
      // No IPv6 on this host: no tcp6/udp6 file.
    }
  }
  return found;
}

export interface SocketOwner {
  readonly pid: number;
  readonly command: string;
}

/**
 * The processes holding these socket inodes, from their open file descriptors. Processes of other
 * users, or that exit while we look, are skipped: the owner is then unknown, not a failure.
 */
export function socketOwners(inodes: ReadonlySet<number>, procRoot = '/proc'): Map<number, SocketOwner> {
  const owners = new Map<number, SocketOwner>();
  if (inodes.size === 0) return owners;
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      const inode = match?.[1] ? Number(match[1]) : undefined;
      if (inode === undefined || !inodes.has(inode) || owners.has(inode)) continue;
      owners.set(inode, { pid: Number(entry), command: commandOf(`${procRoot}/${entry}`) });
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

/**
 * A process's name as an operator knows it: its program (`sshd: /usr/sbin/sshd -D` → sshd,
 * `/usr/bin/node` → node), else `comm` (which Node, for one, renames to MainThread).
 */
export function commandName(argv0: string, comm: string): string {
  const program = argv0.split(' ')[0]?.split('/').pop()?.replace(/:$/, '') ?? '';
  return program || comm || '?';
}

function commandOf(dir: string): string {
  const read = (file: string) => {
    try {
      return readFileSync(`${dir}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  return commandName(read('cmdline').split('\0')[0] ?? '', read('comm').trim());
}

/** A host process on a port we were asked to publish. */
export interface PortConflict {
  readonly protocol: SocketProtocol;
  readonly port: number;
  readonly address: string;
  readonly owner: SocketOwner | undefined;
}

/**
 * Pure: which of `ports` are held by another socket than the agent's own loopback listener for
 * them (it serves published ports on 127.0.0.1 in user space; `ownInodes` are this process's
 * sockets). Anything else counts, our own process included: under `skiff up` the API server
 * shares the agent's process.
 */
export function findConflicts(
  sockets: readonly ListeningSocket[],
  ports: readonly { readonly protocol: SocketProtocol; readonly port: number }[],
  ownInodes: ReadonlySet<number>,
): ListeningSocket[] {
  const held: ListeningSocket[] = [];
  for (const wanted of ports) {
    const holder = sockets.find(
      (s) =>
        s.protocol === wanted.protocol &&
        s.port === wanted.port &&
        !(ownInodes.has(s.inode) && s.address === '127.0.0.1'),
    );
    if (holder) held.push(holder);
  }
  return held;
}

/**
 * The socket inodes this process holds, and the processes of `alsoPids` (the agent's own HAProxy,
 * which serves the loopback listeners in its place): a scan of their fd directories only, cheap.
 */
function ownSocketInodes(alsoPids: readonly number[], procRoot = '/proc'): Set<number> {
  const inodes = new Set<number>();
  for (const pid of ['self', ...alsoPids.map(String)]) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue; // Gone, or not ours to read.
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${procRoot}/${pid}/fd/${fd}`));
        if (match?.[1]) inodes.add(Number(match[1]));
      } catch {
        // Closed while we looked.
      }
    }
  }
  return inodes;
}

/**
 * Reads /proc and reports the host processes on `ports`. The agent's own loopback listeners are
 * on those ports all the time, so the whole-machine owner scan runs only for a real conflict.
 */
export function portConflicts(
  ports: readonly { readonly protocol: SocketProtocol; readonly port: number }[],
  ownPids: readonly number[] = [],
): PortConflict[] {
  if (ports.length === 0) return [];
  const sockets = readListeningSockets().filter((s) =>
    ports.some((p) => p.protocol === s.protocol && p.port === s.port),
  );
  if (sockets.length === 0) return [];
  const held = findConflicts(sockets, ports, ownSocketInodes(ownPids));
  if (held.length === 0) return [];
  const owners = socketOwners(new Set(held.map((s) => s.inode)));
  return held.map((s) => ({
    protocol: s.protocol,
    port: s.port,
    address: s.address,
    owner: owners.get(s.inode),
  }));
}

export function describeConflict(conflict: PortConflict): string {
  const owner = conflict.owner
    ? `${conflict.owner.command} (pid ${conflict.owner.pid})`
    : 'an unknown process';
  return `port ${conflict.port}/${conflict.protocol} is held by ${owner} on ${conflict.address}`;
}
