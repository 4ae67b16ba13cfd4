/**
 * The agent's own HAProxy process: master-worker mode (`-W`), its config, PID file and runtime
 * socket in a directory of the agent's data dir, never the host's system service. Started as the
 * agent's child with a parent-death signal (`setpriv --pdeathsig`, util-linux), so it does not
 * outlive an agent that is killed; a leftover from an agent that was (a PID file whose process is
 * HAProxy on our config) is stopped by PID at the next start and by `skiff agent --cleanup`.
 * A reload (SIGUSR2 to the master) starts a new worker on the same listening sockets (handed over
 * through the runtime socket, `expose-fd listeners`) while the old one finishes its requests.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HaproxyStartError } from './haproxy-errors.ts';
import { workerPid } from './haproxy-runtime.ts';

const run = promisify(execFile);

/** `set server … addr … port`, `retry-on` and dynamic server states are all there from 2.2 on. */
const MIN_VERSION: readonly [number, number] = [2, 2];
const READY_TIMEOUT_MS = 10_000;
const POLL_MS = 25;

export interface HaproxyPaths {
  readonly dir: string;
  readonly config: string;
  readonly pidFile: string;
  readonly adminSocket: string;
  /** The agent's end of the request log (`haproxy-log-socket.ts`). */
  readonly requestLog: string;
}

export function haproxyPaths(dir: string): HaproxyPaths {
  return {
    dir,
    config: join(dir, 'haproxy.cfg'),
    pidFile: join(dir, 'haproxy.pid'),
    adminSocket: join(dir, 'admin.sock'),
    // Shorter than admin.sock: a directory whose admin socket fits a unix path fits this one too.
    requestLog: join(dir, 'log.sock'),
  };
}

/** `HAProxy version 2.6.12-1+deb12u4 …` → [2, 6]; pure. */
export function parseHaproxyVersion(output: string): readonly [number, number] | undefined {
  const match = /HAProxy version (\d+)\.(\d+)/.exec(output);
  return match?.[1] === undefined || match[2] === undefined
    ? undefined
    : [Number(match[1]), Number(match[2])];
}

/** The version of `binary` when it is a usable HAProxy, or an explanation of why it is not. */
export async function detectHaproxy(binary = 'haproxy'): Promise<{ version: string } | { problem: string }> {
  let output: string;
  try {
    output = (await run(binary, ['-v'], { timeout: 5000 })).stdout;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      problem: code === 'ENOENT' ? `${binary} is not installed` : `${binary} -v failed: ${String(error)}`,
    };
  }
  const version = parseHaproxyVersion(output);
  if (version === undefined) return { problem: `${binary} -v printed no HAProxy version` };
  const [major, minor] = version;
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
    return { problem: `${binary} is ${major}.${minor}; ${MIN_VERSION.join('.')} or later is needed` };
  }
  return { version: `${major}.${minor}` };
}

export interface HaproxyProcessOptions {
  readonly binary?: string;
  readonly paths: HaproxyPaths;
  readonly log: (message: string) => void;
  /** The process ended without `stop()`. */
  readonly onExit: (description: string) => void;
}

export class HaproxyProcess {
  readonly #binary: string;
  readonly #paths: HaproxyPaths;
  readonly #log: (message: string) => void;
  readonly #onExit: (description: string) => void;
  #child: ChildProcess | undefined;
  /** Resolves when the current child exits (one listener for every wait on it). */
  #exited: Promise<void> = Promise.resolve();
  #worker: number | undefined;
  #output: string[] = [];
  #stopping = false;
  readonly #killOnExit = () => {
    if (this.#child?.pid !== undefined && this.#child.exitCode === null) this.#child.kill('SIGTERM');
  };

  constructor(options: HaproxyProcessOptions) {
    this.#binary = options.binary ?? 'haproxy';
    this.#paths = options.paths;
    this.#log = options.log;
    this.#onExit = options.onExit;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.#child?.pid : undefined;
  }

  /** The master and its workers (those that hold the listening sockets), while it runs. */
  get pids(): number[] {
    const master = this.pid;
    if (master === undefined) return [];
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter((text) => text !== '')
        .map(Number);
    } catch {
      // Without /proc's children list: the worker the runtime socket named.
      if (this.#worker !== undefined) children = [this.#worker];
    }
    return [master, ...children];
  }

  /** Writes `text` as the config once `haproxy -c` accepts it; throws HaproxyStartError otherwise. */
  async writeConfig(text: string): Promise<void> {
    mkdirSync(this.#paths.dir, { recursive: true, mode: 0o700 });
    const next = `${this.#paths.config}.next`;
    writeFileSync(next, text, { mode: 0o600 });
    try {
      await run(this.#binary, ['-c', '-q', '-f', next], { timeout: 10_000 });
    } catch (error) {
      const output = String((error as { stderr?: unknown }).stderr ?? error);
      throw new HaproxyStartError('haproxy refused the generated configuration', output);
    }
    renameSync(next, this.#paths.config);
  }

  /** Starts the master on the written config; resolves once a worker answers on the runtime socket. */
  async start(): Promise<void> {
    if (this.running) return;
    stopLeftover(this.#paths, this.#log);
    rmSync(this.#paths.adminSocket, { force: true });
    this.#stopping = false;
    this.#output = [];
    const args = ['-W', '-f', this.#paths.config, '-p', this.#paths.pidFile];
    const withPdeathsig = existsSync('/usr/bin/setpriv');
    const child = withPdeathsig
      ? spawn('setpriv', ['--pdeathsig', 'SIGTERM', this.#binary, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(this.#binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.#output.push(line);
        if (this.#output.length > 40) this.#output.shift();
        if (/\[ALERT\]/.test(line)) this.#log(`haproxy: ${line}`);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    process.on('exit', this.#killOnExit);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.#exited = exited;
    child.once('exit', (code, signal) => {
      process.off('exit', this.#killOnExit);
      this.#worker = undefined;
      if (!this.#stopping)
        this.#onExit(`haproxy exited (${signal ?? `code ${code}`}): ${this.#output.slice(-3).join(' | ')}`);
    });
    child.once('error', () => {});
    this.#worker = await this.#newWorker(undefined, exited);
  }

  /** Loads the written config into a new worker; the old one finishes its requests and exits. */
  async reload(): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return this.start();
    child.kill('SIGUSR2');
    this.#worker = await this.#newWorker(this.#worker, this.#exited);
  }

  /** Soft stop: in-flight requests finish for up to `graceMs`, then the process is terminated. */
  async stop(graceMs: number): Promise<void> {
    const child = this.#child;
    this.#stopping = true;
    if (child === undefined || !this.running) return;
    const exited = this.#exited;
    child.kill('SIGUSR1');
    if (await within(exited, graceMs)) return;
    child.kill('SIGTERM');
    if (await within(exited, 2000)) return;
    child.kill('SIGKILL');
    await exited;
  }

  async #newWorker(previous: number | undefined, exited: Promise<void>): Promise<number> {
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    // A reload that fails leaves the master in wait mode with the old worker: a new PID never comes.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (gone) throw new HaproxyStartError('haproxy exited at start', this.#output.join('\n'));
      const pid = await workerPid(this.#paths.adminSocket).catch(() => undefined);
      if (pid !== undefined && pid !== previous) return pid;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new HaproxyStartError(
      `haproxy had no new worker within ${READY_TIMEOUT_MS} ms`,
      this.#output.join('\n'),
    );
  }
}

/**
 * Stops, by the PID in `paths.pidFile`, an HAProxy of an earlier agent on this directory (one
 * that outlived it); only a process whose command line names this config is signalled.
 * Returns whether one was stopped.
 */
export function stopLeftover(paths: HaproxyPaths, log: (message: string) => void): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(paths.pidFile, 'utf8').trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 1) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  if (!cmdline.includes('haproxy') || !cmdline.split('\0').includes(paths.config)) return false;
  log(`stopping haproxy ${pid} left by an earlier agent (${paths.config})`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  // Synchronous: this runs before a new process binds the same ports.
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && alive(pid)) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  return true;
}

/** Running, not exited: a zombie (exited, not yet reaped by its parent) holds no port. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** `skiff agent --cleanup`: stops a leftover HAProxy of this data dir and removes its files. */
export function removeHaproxy(dir: string, log: (message: string) => void): boolean {
  const paths = haproxyPaths(dir);
  const stopped = stopLeftover(paths, log);
  const existed = existsSync(dir);
  rmSync(dir, { recursive: true, force: true });
  return stopped || existed;
}

function within(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
