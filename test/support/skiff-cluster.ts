/**
 * A real Skiff for tests: `skiff up`, or `skiff server` and `skiff agent` as separate processes,
 * each a child process that can be killed with SIGKILL and started again on the same data
 * directory and port. Each instance is its own cluster (own id, own container labels, and unless
 * the test gives `--address-pool`, a free pool of its own: `free-pool.ts`), so test files never
 * touch each other's containers or networks.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import type { AddressPool } from '../../src/model/addressing.ts';
import { DEFAULT_ADDRESS_POOL, parseAddressPool } from '../../src/model/addressing.ts';
import { containersOf, removeCluster } from './docker.ts';
import { eventually } from './eventually.ts';
import { freePool } from './free-pool.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');

/** How a skiff process is started: this checkout's CLI by default, or a binary, or another checkout. */
export interface SkiffCommand {
  readonly file: string;
  /** Arguments before skiff's own (node's flags and the script). */
  readonly prefix: readonly string[];
  /** The working directory (a binary's own temp dir, so nothing of this checkout is found). */
  readonly cwd?: string;
}

/** This checkout's `src/cli/main.ts` under the Node running the tests. */
export const CHECKOUT_SKIFF: SkiffCommand = {
  file: process.execPath,
  prefix: ['--disable-warning=ExperimentalWarning', MAIN],
};

/** Another checkout's CLI (a previous release's worktree), under the same Node. */
export function checkoutSkiff(root: string): SkiffCommand {
  return {
    file: process.execPath,
    prefix: ['--disable-warning=ExperimentalWarning', join(root, 'src/cli/main.ts')],
  };
}

export interface SkiffCommands {
  readonly server?: SkiffCommand;
  readonly agent?: SkiffCommand;
  readonly cli?: SkiffCommand;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class SkiffCluster {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'skiff-test-'));
  readonly port: number;
  readonly mode: 'up' | 'split' | 'server';
  /** The address the server listens on (a lab bridge address for multi-host tests). */
  readonly host: string;
  server: ChildProcess | undefined;
  agent: ChildProcess | undefined;
  readonly output: string[] = [];
  #clusterId: string | undefined;
  /** Changed between starts to upgrade one process (the version-skew test). */
  commands: Required<SkiffCommands>;

  private constructor(
    port: number,
    mode: 'up' | 'split' | 'server',
    host: string,
    commands: SkiffCommands = {},
  ) {
    this.port = port;
    this.mode = mode;
    this.host = host;
    this.commands = {
      server: commands.server ?? CHECKOUT_SKIFF,
      agent: commands.agent ?? CHECKOUT_SKIFF,
      cli: commands.cli ?? CHECKOUT_SKIFF,
    };
  }

  /**
   * `serverArgs` are extra flags for `skiff up`/`skiff server` (e.g. `--address-pool CIDR`);
   * `waitForNode: false` returns once the server answers, for an agent expected to refuse;
   * `listen: '0.0.0.0'` makes the API hold its port on every address, as `skiff up` does by default;
   * `commands` runs the server, agent or CLI from a binary or another checkout.
   */
  static async start(
    mode: 'up' | 'split' = 'up',
    {
      serverArgs = [],
      waitForNode = true,
      listen = '127.0.0.1',
      agentArgs = [],
      commands = {},
    }: {
      serverArgs?: readonly string[];
      waitForNode?: boolean;
      listen?: string;
      /** Extra flags for `skiff agent` in split mode (e.g. `--address IP`). */
      agentArgs?: readonly string[];
      commands?: SkiffCommands;
    } = {},
  ): Promise<SkiffCluster> {
    const cluster = new SkiffCluster(await freePort(), mode, listen, commands);
    cluster.#extraServerArgs = await withPool(serverArgs);
    cluster.#agentArgs = agentArgs;
    try {
      await cluster.startServer();
      if (mode === 'split') await cluster.startAgent();
      if (waitForNode) await cluster.waitForNode();
    } catch (error) {
      // The caller never gets the cluster to stop: its processes must not outlive the test file.
      console.error(cluster.output.slice(-40).join('\n'));
      await cluster.stop().catch(() => {});
      throw error;
    }
    return cluster;
  }

  /** The cluster's address pool: the `--address-pool` its server was started with. */
  get pool(): AddressPool {
    const at = this.#extraServerArgs.indexOf('--address-pool');
    return parseAddressPool(this.#extraServerArgs[at + 1] ?? DEFAULT_ADDRESS_POOL);
  }

  /** A server alone, listening on `host`, for agents started elsewhere (the lab's hosts). */
  static async startServerOnly(host: string, extraArgs: readonly string[] = []): Promise<SkiffCluster> {
    const cluster = new SkiffCluster(await freePort(), 'server', host);
    cluster.#extraServerArgs = await withPool(extraArgs);
    await cluster.startServer();
    return cluster;
  }

  #extraServerArgs: readonly string[] = [];
  #agentArgs: readonly string[] = [];
  #storeArgs: readonly string[] = [];

  /**
   * The server's store from its next start on (`--store etcd://…`, none: SQLite in the data
   * dir). The cluster id (container labels) is the one read before, from SQLite: a migrated or
   * restored cluster keeps it.
   */
  useStore(args: readonly string[]): void {
    if (!this.#clusterId) this.#clusterId = this.clusterId;
    this.#storeArgs = args;
  }

  /** Plain HTTP on loopback (the server takes it from its own host), https with the CA elsewhere. */
  get url(): string {
    if (this.host === '0.0.0.0') return `http://127.0.0.1:${this.port}`;
    const loopback = this.host === '127.0.0.1' || this.host === 'localhost';
    return `${loopback ? 'http' : 'https'}://${this.host}:${this.port}`;
  }

  get caPath(): string {
    return join(this.dataDir, 'ca.crt');
  }

  caPem(): string {
    return readFileSync(this.caPath, 'utf8');
  }

  /** This process's fetch trusts the cluster CA from now on (beside every CA trusted before). */
  trustCa(): void {
    if (!existsSync(this.caPath)) return;
    setDefaultCACertificates([...getCACertificates('default'), readFileSync(this.caPath, 'utf8')]);
  }

  get joinToken(): string {
    return readFileSync(join(this.dataDir, 'join.token'), 'utf8').trim();
  }

  get token(): string {
    return readFileSync(join(this.dataDir, 'admin.token'), 'utf8').trim();
  }

  get clusterId(): string {
    if (!this.#clusterId) {
      const db = new DatabaseSync(join(this.dataDir, 'skiff.db'), { readOnly: true });
      const row = db.prepare("SELECT value FROM meta WHERE key = 'cluster_id'").get();
      db.close();
      this.#clusterId = String(row?.value);
    }
    return this.#clusterId;
  }

  /** A value of the server's meta table (read-only), or undefined. */
  metaValue(key: string): string | undefined {
    const db = new DatabaseSync(join(this.dataDir, 'skiff.db'), { readOnly: true });
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key);
    db.close();
    return row === undefined ? undefined : String(row.value);
  }

  /** An index the server allocated (a network's or a service's), read from its store. */
  allocation(kind: 'network' | 'service', name: string): number {
    const db = new DatabaseSync(join(this.dataDir, 'skiff.db'), { readOnly: true });
    const row = db.prepare('SELECT idx FROM allocations WHERE kind = ? AND name = ?').get(kind, name);
    db.close();
    if (!row) throw new Error(`no ${kind} allocation for ${name}`);
    return Number(row.idx);
  }

  async startServer(): Promise<void> {
    const args = this.mode === 'up' ? ['up'] : ['server'];
    args.push(
      '--data-dir',
      this.dataDir,
      '--port',
      String(this.port),
      '--listen',
      this.host,
      ...this.#extraServerArgs,
      ...this.#storeArgs,
    );
    this.server = this.#spawn(args, this.mode === 'up' ? 'up' : 'server', this.commands.server);
    await eventually(
      'the server to answer /healthz',
      async () => {
        if (this.url.startsWith('https:')) this.trustCa();
        return (await fetch(`${this.url}/healthz`)).ok;
      },
      { timeoutMs: 20_000 },
    );
  }

  async startAgent(): Promise<void> {
    const joinToken = readFileSync(join(this.dataDir, 'join.token'), 'utf8').trim();
    this.agent = this.#spawn(
      [
        'agent',
        '--server',
        this.url,
        `--join-token=${joinToken}`,
        '--data-dir',
        join(this.dataDir, 'agent'),
        '--name',
        'node-1',
        ...this.#agentArgs,
      ],
      'agent',
      this.commands.agent,
    );
  }

  async waitForNode(): Promise<void> {
    await eventually('a ready node', async () => {
      const nodes = (await this.api('GET', '/api/nodes')).body as { status: string }[];
      return nodes.some((n) => n.status === 'ready');
    });
  }

  /** SIGKILL, and wait for the process to be gone. */
  async kill(which: 'server' | 'agent'): Promise<void> {
    const child = which === 'server' ? this.server : this.agent;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  }

  /** Runs the real CLI against this cluster; `input` is written to its stdin. */
  async cli(
    args: string[],
    { timeoutMs = 120_000, input }: { timeoutMs?: number; input?: string } = {},
  ): Promise<CliResult> {
    const { file, prefix, cwd } = this.commands.cli;
    const child = spawn(file, [...prefix, ...args], {
      env: { ...process.env, SKIFF_SERVER: this.url, SKIFF_DATA_DIR: this.dataDir, SKIFF_TOKEN: '' },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    if (input !== undefined) child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => {
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  containers(service?: string) {
    return containersOf(this.clusterId, service);
  }

  async stop(): Promise<void> {
    const clusterId = this.#clusterId ?? this.clusterId;
    for (const child of [this.agent, this.server]) {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
      }
    }
    await removeCluster(clusterId);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  #spawn(args: string[], label: string, command: SkiffCommand): ChildProcess {
    const child = spawn(command.file, [...command.prefix, ...args], {
      env: { ...process.env, SKIFF_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(command.cwd ? { cwd: command.cwd } : {}),
    });
    const keep = (d: Buffer) => {
      for (const line of String(d).split('\n')) if (line) this.output.push(`[${label}] ${line}`);
      if (this.output.length > 2000) this.output.splice(0, this.output.length - 2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return child;
  }
}

/** The server flags, with `--address-pool` of a free pool unless the test chose one. */
async function withPool(args: readonly string[]): Promise<readonly string[]> {
  return args.includes('--address-pool') ? args : [...args, '--address-pool', await freePool()];
}

async function freePort(): Promise<number> {
  return await new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}
