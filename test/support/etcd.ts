/**
 * A real etcd cluster for tests: three members of Debian's etcd 3.4 (`/usr/bin/etcd`) on loopback,
 * on free ports, with their data on tmpfs (`/dev/shm/skiff-etcd-<pid>-…`: on 2 shared cores a
 * disk-backed etcd misses heartbeats and flaps), stopped by PID. A whole run shares one: when
 * SKIFF_TEST_ETCD_ENDPOINTS names a running cluster (CI starts one, `test/support/etcd-serve.ts`)
 * it is used as it is; otherwise the first caller starts one that stops when the process exits.
 * Tests that kill members start a cluster of their own (`startEtcdCluster`).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { eventually } from './eventually.ts';

export const ETCD_BINARY = process.env.SKIFF_ETCD_BINARY ?? '/usr/bin/etcd';

/**
 * Timing for 2 shared cores: heartbeats every 100 ms and an election after 1 s of silence (etcd's
 * defaults, which hold there once the data is on tmpfs); a new etcd leader after a member dies
 * takes 1.2–1.5 s. Transactions as large as a big controller pass fit in one.
 */
export const TEST_ETCD_FLAGS = [
  '--heartbeat-interval=100',
  '--election-timeout=1000',
  '--max-txn-ops=10000',
  '--max-request-bytes=16777216',
  '--quota-backend-bytes=2147483648',
  '--snapshot-count=10000',
  '--log-level=error',
  '--logger=zap',
];

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** The running process, or undefined while the member is killed. */
  process: ChildProcess | undefined;
}

export interface EtcdCluster {
  /** Client URLs, e.g. `http://127.0.0.1:40123`. */
  readonly endpoints: readonly string[];
  readonly members: readonly EtcdMember[];
  /** SIGKILLs one member (its data stays, so `restart` brings it back as the same member). */
  kill(index: number): Promise<void>;
  restart(index: number): Promise<void>;
  /** Every member's client port answers /health as healthy. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let started = 0;

/** TLS on the client port: etcd's certificate and key, and the CA client certificates must chain to. */
export interface EtcdTestTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  /** A client certificate for the health check (client certificates are required). */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

/**
 * `extraFlags` go after TEST_ETCD_FLAGS, so they win (e.g. a tiny `--quota-backend-bytes`);
 * `tls` serves clients over TLS and requires client certificates.
 */
export async function startEtcdCluster(
  size = 3,
  extraFlags: readonly string[] = [],
  tls?: EtcdTestTls,
): Promise<EtcdCluster> {
  const id = `${process.pid}-${started++}-${Date.now().toString(36)}`;
  const token = `skiff-test-${id}`;
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    const clientPort = await freePort();
    const peerPort = await freePort();
    members.push({
      name: `m${i}`,
      clientUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`,
      peerUrl: `http://127.0.0.1:${peerPort}`,
      dataDir: `/dev/shm/skiff-etcd-${id}-m${i}`,
      process: undefined,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const launch = (member: EtcdMember, state: 'new' | 'existing') => {
    mkdirSync(member.dataDir, { recursive: true });
    const child = spawn(
      ETCD_BINARY,
      [
        `--name=${member.name}`,
        `--data-dir=${member.dataDir}`,
        `--listen-client-urls=${member.clientUrl}`,
        `--advertise-client-urls=${member.clientUrl}`,
        `--listen-peer-urls=${member.peerUrl}`,
        `--initial-advertise-peer-urls=${member.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        `--initial-cluster-token=${token}`,
        ...TEST_ETCD_FLAGS,
        ...(tls
          ? [
              `--cert-file=${tls.certFile}`,
              `--key-file=${tls.keyFile}`,
              `--trusted-ca-file=${tls.caFile}`,
              '--client-cert-auth',
            ]
          : []),
        ...extraFlags,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      if (member.process === child) member.process = undefined;
      if (code !== 0 && signal === null && process.env.SKIFF_TEST_ETCD_VERBOSE)
        process.stderr.write(`etcd ${member.name} exited ${code}: ${stderr}\n`);
    });
    member.process = child;
  };
  for (const member of members) launch(member, 'new');
  const killMember = async (member: EtcdMember) => {
    const child = member.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    member.process = undefined;
  };
  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.clientUrl),
    members,
    kill: async (index) => {
      const member = members[index];
      if (member) await killMember(member);
    },
    restart: async (index) => {
      const member = members[index];
      if (!member || member.process) return;
      launch(member, 'existing');
    },
    waitHealthy: async (timeoutMs = 20_000) => {
      await eventually(
        'every etcd member healthy',
        async () => {
          for (const member of members) {
            if (!member.process) return false;
            if (!(await healthy(member.clientUrl, tls))) return false;
          }
          return true;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    stop: async () => {
      for (const member of members) await killMember(member);
      for (const member of members) rmSync(member.dataDir, { recursive: true, force: true });
    },
  };
  try {
    await cluster.waitHealthy();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

async function healthy(clientUrl: string, tls: EtcdTestTls | undefined): Promise<boolean> {
  if (tls) return await healthyOverTls(clientUrl, tls);
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body: unknown = await response.json();
    return typeof body === 'object' && body !== null && 'health' in body && body.health === 'true';
  } catch {
    return false;
  }
}

function healthyOverTls(clientUrl: string, tls: EtcdTestTls): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpsRequest(
      `${clientUrl}/health`,
      {
        ca: readFileSync(tls.caFile),
        cert: readFileSync(tls.clientCertFile),
        key: readFileSync(tls.clientKeyFile),
        timeout: 1000,
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => resolve(body.includes('"health":"true"')));
      },
    );
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
    request.end();
  });
}

let shared: Promise<readonly string[]> | undefined;

/**
 * The endpoints of the run's shared cluster: SKIFF_TEST_ETCD_ENDPOINTS (comma-separated URLs or
 * host:port) if set, else one started now for this process (stopped at its exit). Each test must
 * use a key prefix of its own (`testPrefix`).
 */
export function sharedEtcdEndpoints(): Promise<readonly string[]> {
  shared ??= (async () => {
    const given = process.env.SKIFF_TEST_ETCD_ENDPOINTS;
    if (given) return given.split(',').map((e) => (e.includes('://') ? e : `http://${e}`));
    const cluster = await startEtcdCluster();
    // The members must not keep the test process alive; they die with it.
    for (const member of cluster.members) {
      member.process?.unref();
      member.process?.stderr?.destroy();
    }
    const stopAtExit = () => {
      for (const member of cluster.members) member.process?.kill('SIGKILL');
      for (const member of cluster.members) rmSync(member.dataDir, { recursive: true, force: true });
    };
    process.once('exit', stopAtExit);
    return cluster.endpoints;
  })();
  return shared;
}

let prefixes = 0;

/** A key prefix no other test (or run) uses. */
export function testPrefix(name: string): string {
  return `/skiff-test/${process.pid}-${Date.now().toString(36)}-${prefixes++}-${name.replace(/[^a-z0-9-]/gi, '-')}`;
}
