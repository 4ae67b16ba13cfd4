/**
 * Several `skiff server` processes on one etcd, for HA tests and the HA benchmark: each a child
 * process (kill -9 and start again on the same data dir and port), sharing the cluster key and
 * the admin token as an operator would copy them, all listening on one address (the lab bridge,
 * where the lab's agents reach them) on ports of their own.
 *
 * A partition from etcd, for real: each server reaches the etcd members through relays of its
 * own on loopback (plain TCP forwarders, one per member), so its etcd traffic has ports no other
 * server uses, and `partition(i)` drops it in netfilter (`iptables -I INPUT -i lo -p tcp
 * --dport RELAY -j DROP`, established connections and new ones alike) while its API and its
 * agents' connections carry on. `heal(i)` removes the rules. Rules carry a comment naming this
 * process, and `stop` removes whatever is left.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { serversViewSchema } from '../../src/model/views.ts';
import { eventually } from './eventually.ts';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');
const RULE_COMMENT = `skiff-ha-test-${process.pid}`;

export interface HaServer {
  readonly index: number;
  readonly port: number;
  readonly dataDir: string;
  readonly url: string;
  readonly relayPorts: readonly number[];
  process: ChildProcess | undefined;
  partitioned: boolean;
}

export interface HaServersOptions {
  readonly count: number;
  /** The address every server listens on (the lab bridge's). */
  readonly host: string;
  readonly etcdEndpoints: readonly string[];
  readonly prefix: string;
  readonly extraArgs?: readonly string[];
}

export class HaServers {
  readonly servers: HaServer[] = [];
  readonly token = randomBytes(16).toString('hex');
  readonly output: string[] = [];
  readonly #options: HaServersOptions;
  readonly #relays: Server[] = [];
  readonly #sockets = new Set<Socket>();

  private constructor(options: HaServersOptions) {
    this.#options = options;
  }

  /** Starts the first server alone (it makes the cluster), then the others with its cluster key. */
  static async start(options: HaServersOptions): Promise<HaServers> {
    const ha = new HaServers(options);
    try {
      for (let i = 0; i < options.count; i++) {
        const relayPorts: number[] = [];
        for (const endpoint of options.etcdEndpoints) relayPorts.push(await ha.#relay(new URL(endpoint)));
        const port = await freePort(options.host);
        ha.servers.push({
          index: i,
          port,
          dataDir: mkdtempSync('/dev/shm/skiff-ha-server-'),
          url: `https://${options.host}:${port}`,
          relayPorts,
          process: undefined,
          partitioned: false,
        });
      }
      const [first, ...rest] = ha.servers;
      if (!first) throw new Error('no server to start');
      await ha.startServer(first.index);
      for (const server of rest) {
        copyFileSync(join(first.dataDir, 'cluster.key'), join(server.dataDir, 'cluster.key'));
        await ha.startServer(server.index);
      }
    } catch (error) {
      console.error(ha.output.slice(-40).join('\n'));
      await ha.stop();
      throw error;
    }
    return ha;
  }

  /** Every server's URL, as agents and CLIs are given them. */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  get joinToken(): string {
    return readFileSync(join(this.#server(0).dataDir, 'join.token'), 'utf8').trim();
  }

  get clusterId(): string {
    return this.#clusterId ?? '';
  }

  #clusterId: string | undefined;
  #trusted = false;

  /** This process's fetch trusts the cluster CA (as SkiffCluster.trustCa does). */
  trustCa(): void {
    this.#trusted = true;
    const ca = readFileSync(join(this.#server(0).dataDir, 'ca.crt'), 'utf8');
    setDefaultCACertificates([...getCACertificates('default'), ca]);
  }

  async startServer(i: number): Promise<void> {
    const server = this.#server(i);
    const store = `etcd://${server.relayPorts.map((p) => `127.0.0.1:${p}`).join(',')}${this.#options.prefix}`;
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        MAIN,
        'server',
        '--store',
        store,
        '--data-dir',
        server.dataDir,
        '--port',
        String(server.port),
        '--listen',
        this.#options.host,
        ...(this.#options.extraArgs ?? []),
      ],
      { env: { ...process.env, SKIFF_TOKEN: this.token }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (d: Buffer) => {
      for (const line of String(d).split('\n')) if (line) this.output.push(`[s${i}] ${line}`);
      if (this.output.length > 3000) this.output.splice(0, this.output.length - 3000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    server.process = child;
    await eventually(
      `server ${i} to answer /healthz`,
      async () => {
        if (child.exitCode !== null) throw new Error(`server ${i} exited ${child.exitCode}`);
        if (!this.#trusted && existsSync(join(this.#server(0).dataDir, 'ca.crt'))) this.trustCa();
        return (await fetch(`${server.url}/healthz`).catch(() => undefined))?.ok === true;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    if (this.#clusterId === undefined) {
      const view = await this.api(i, 'GET', '/api/servers');
      if (view.status === 200) this.#clusterId = readClusterId(server.dataDir);
    }
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill(i: number): Promise<void> {
    const child = this.#server(i).process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
    this.#server(i).process = undefined;
  }

  alive(i: number): boolean {
    const child = this.#server(i).process;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Drops server i's etcd traffic in netfilter (see the file comment). */
  partition(i: number): void {
    const server = this.#server(i);
    if (server.partitioned) return;
    execFileSync('iptables', ['-I', 'INPUT', ...this.#rule(server)]);
    server.partitioned = true;
  }

  heal(i: number): void {
    const server = this.#server(i);
    if (!server.partitioned) return;
    execFileSync('iptables', ['-D', 'INPUT', ...this.#rule(server)]);
    server.partitioned = false;
  }

  #rule(server: HaServer): string[] {
    return [
      '-i',
      'lo',
      '-p',
      'tcp',
      '-m',
      'multiport',
      '--dports',
      server.relayPorts.join(','),
      '-m',
      'comment',
      '--comment',
      RULE_COMMENT,
      '-j',
      'DROP',
    ];
  }

  async api(
    i: number,
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 10_000,
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.#server(i).url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, body: parsed };
  }

  /**
   * The index of the leader, when every live, unpartitioned server that answers names the same
   * one and it names itself. A server that does not answer (its etcd connection still recovering
   * from a partition: TCP's retransmission backoff can hold it for seconds after the heal) is
   * not counted, but the leader must answer.
   */
  async leader(): Promise<number | undefined> {
    const named = new Map<number, string>();
    for (const server of this.servers) {
      if (!this.alive(server.index) || server.partitioned) continue;
      const answer = await this.api(server.index, 'GET', '/api/servers', undefined, 2000).catch(
        () => undefined,
      );
      if (answer?.status !== 200) continue;
      const leader = serversViewSchema.parse(answer.body).servers.find((s) => s.leader);
      if (!leader) return undefined;
      named.set(server.index, leader.url);
    }
    const urls = new Set(named.values());
    if (urls.size !== 1) return undefined;
    const index = this.servers.findIndex((s) => s.url === [...urls][0]);
    if (index < 0 || !named.has(index)) return undefined;
    return this.alive(index) && !this.#server(index).partitioned ? index : undefined;
  }

  async stop(): Promise<void> {
    for (const server of this.servers) {
      this.heal(server.index);
      const child = server.process;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(server.dataDir, { recursive: true, force: true });
    }
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(this.#relays.map((relay) => new Promise((done) => relay.close(done))));
  }

  /** A TCP relay on loopback to one etcd member: the port server traffic is told apart by. */
  async #relay(member: URL): Promise<number> {
    const relay = createServer((client) => {
      const upstream = connect(Number(member.port), member.hostname);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.#relays.push(relay);
    return await new Promise((done, fail) => {
      relay.once('error', fail);
      relay.listen(0, '127.0.0.1', () => {
        const address = relay.address();
        done(typeof address === 'object' && address ? address.port : 0);
      });
    });
  }

  #server(i: number): HaServer {
    const server = this.servers[i];
    if (!server) throw new Error(`no server ${i}`);
    return server;
  }
}

/** The cluster id, from the CA's subject (`O=skiff <cluster id>`): the store is etcd's, not a file. */
function readClusterId(dataDir: string): string | undefined {
  const subject = new X509Certificate(readFileSync(join(dataDir, 'ca.crt'), 'utf8')).subject;
  return /O=skiff (\S+)/.exec(subject)?.[1];
}

async function freePort(host: string): Promise<number> {
  return await new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}
