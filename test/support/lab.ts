/**
 * The multi-host lab for integration tests: N hosts on this machine, each a network namespace with
 * its own Docker engine and, once started, its own Skiff agent (`scripts/lab.sh` does the work;
 * this only runs it). Needs root. A server the agents join must listen on `Lab.gateway` (or
 * 0.0.0.0) and is reached from the hosts at `https://${Lab.gateway}:PORT`: agents join with the
 * server's join token, then use mutual TLS; the test process trusts the cluster CA
 * (`SkiffCluster.trustCa`).
 *
 *   const lab = await Lab.up(3);
 *   await lab.startAgents(`https://${Lab.gateway}:${port}`, joinToken);
 *   ...
 *   await lab.down();
 *
 * `up` removes any lab left by an earlier run first, and a failed `up` removes what it made.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const LAB_SH = resolve(import.meta.dirname, '../../scripts/lab.sh');

export interface LabResult {
  readonly stdout: string;
  readonly stderr: string;
}

export class Lab {
  /** The host side of the lab bridge: where the hosts reach a server running on this machine. */
  static readonly gateway = '10.231.0.1';
  /**
   * The address pool lab clusters are given (`--address-pool`): not Skiff's default, so the lab
   * shows a non-default pool works end to end, and outside the lab's own 10.231.0.0/24 (hosts)
   * and 10.232.I.0/24 (each host's docker0).
   */
  static readonly addressPool = '10.96.0.0/14';
  readonly hosts: number;

  private constructor(hosts: number) {
    this.hosts = hosts;
  }

  /** Why the lab cannot run here (not root, not Linux), or undefined when it can: for `skip`. */
  static unsupportedReason(): string | undefined {
    if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
    if (process.getuid?.() !== 0) return 'the lab needs root';
    return undefined;
  }

  /** Creates hosts 1..n with their engines and the demo images (no agents yet). */
  static async up(n: number, { timeoutMs = 180_000 } = {}): Promise<Lab> {
    if (!Number.isInteger(n) || n < 1) throw new Error(`Lab.up: not a host count: ${n}`);
    await runLab(['up', String(n)], timeoutMs);
    return new Lab(n);
  }

  /** Starts an agent on every host, joining `serverUrl`; resolves once each has read its engine. */
  async startAgents(serverUrl: string, joinToken: string): Promise<void> {
    await runLab(['agents', '--server', serverUrl, `--join-token=${joinToken}`], 120_000);
  }

  /** SIGKILLs host i's agent; its engine and containers keep running. */
  async killAgent(i: number): Promise<void> {
    await runLab(['kill-agent', this.#host(i)]);
  }

  /** Starts host i's agent again with the settings of `startAgents`. */
  async startAgent(i: number): Promise<void> {
    await runLab(['start-agent', this.#host(i)], 60_000);
  }

  /** Host death: SIGKILLs host i's agent, dockerd, containerd, shims and container processes. */
  async killHost(i: number): Promise<void> {
    await runLab(['kill-host', this.#host(i)]);
  }

  /** Boots host i again after `killHost`: its engine, then its agent if agents were started. */
  async startHost(i: number): Promise<void> {
    await runLab(['start-host', this.#host(i)], 120_000);
  }

  /** Cuts host i off the lab network (its link goes down); processes keep running. */
  async partition(i: number): Promise<void> {
    await runLab(['partition', this.#host(i)]);
  }

  async heal(i: number): Promise<void> {
    await runLab(['heal', this.#host(i)]);
  }

  /** Host i's engine as `--docker-host` takes it: `unix:///run/skiff-lab/hI/docker.sock`. */
  dockerHost(i: number): string {
    return `unix://${this.socketPath(i)}`;
  }

  /** Host i's engine socket path (dockerode's `socketPath`). */
  socketPath(i: number): string {
    return `/run/skiff-lab/h${this.#host(i)}/docker.sock`;
  }

  /** Host i's address on the lab network (its agent's `--address`). */
  address(i: number): string {
    return `10.231.0.${10 + Number(this.#host(i))}`;
  }

  /** Host i's agent log (what `skiff agent` writes to stderr, every start appended). */
  agentLogPath(i: number): string {
    return `/run/skiff-lab/h${this.#host(i)}/agent.log`;
  }

  /** The name host i's agent registers under. */
  nodeName(i: number): string {
    return `lab-h${this.#host(i)}`;
  }

  async status(): Promise<string> {
    return (await runLab(['status'])).stdout;
  }

  /** Removes every host, engine, agent, container and network object of the lab; idempotent. */
  async down(): Promise<void> {
    await runLab(['down'], 120_000);
  }

  #host(i: number): string {
    if (!Number.isInteger(i) || i < 1 || i > this.hosts) {
      throw new Error(`lab host ${i} does not exist (hosts are 1..${this.hosts})`);
    }
    return String(i);
  }
}

/** Runs `bash scripts/lab.sh ARGS`; rejects with its stderr when it fails or runs out of time. */
export function runLab(args: readonly string[], timeoutMs = 30_000): Promise<LabResult> {
  return new Promise((done, fail) => {
    execFile(
      'bash',
      [LAB_SH, ...args],
      { timeout: timeoutMs, killSignal: 'SIGTERM', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return done({ stdout, stderr });
        const how = error.killed ? `timed out after ${timeoutMs} ms` : `failed (exit ${error.code ?? '?'})`;
        const detail = [stderr.trim(), stdout.trim()].filter((text) => text !== '').join('\n');
        fail(new Error(`lab.sh ${args.join(' ')} ${how}${detail ? `:\n${detail}` : ''}`));
      },
    );
  });
}
