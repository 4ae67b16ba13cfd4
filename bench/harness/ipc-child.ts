/**
 * A bench's child process on Node's IPC channel: forked with the same Node, its stderr kept (the
 * last lines, for a failed run's report), its messages checked by a schema and awaited by kind,
 * and stopped by its own PID (SIGTERM, then SIGKILL if it does not go).
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { z } from 'zod';
import { withDeadline } from './wait.ts';

const STOP_TIMEOUT_MS = 10_000;
const KEPT_LINES = 200;

export class IpcChild<Reply extends { event: string }, Command> {
  readonly #child: ChildProcess;
  readonly #schema: z.ZodType<Reply>;
  readonly #waiting = new Map<string, ((reply: Reply) => void)[]>();
  /** The last lines the child wrote to stderr. */
  readonly lines: string[] = [];
  readonly name: string;
  #exited = false;

  /** `nodeArgs` go to Node before the script's own (e.g. `--cpu-prof`), after this process's. */
  constructor(
    name: string,
    script: string,
    args: readonly string[],
    schema: z.ZodType<Reply>,
    nodeArgs: readonly string[] = [],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.name = name;
    this.#schema = schema;
    this.#child = fork(script, [...args], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [...process.execArgv, ...nodeArgs],
      env,
    });
    // Every pending `next` listens for the exit.
    this.#child.setMaxListeners(0);
    if (this.#child.stderr) {
      createInterface({ input: this.#child.stderr }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > KEPT_LINES) this.lines.shift();
      });
    }
    this.#child.on('message', (raw) => {
      const reply = this.#schema.parse(raw);
      const waiters = this.#waiting.get(reply.event);
      waiters?.shift()?.(reply);
    });
    this.#child.once('exit', () => {
      this.#exited = true;
    });
  }

  get pid(): number {
    const pid = this.#child.pid;
    if (pid === undefined) throw new Error(`${this.name} did not start`);
    return pid;
  }

  send(command: Command): void {
    this.#child.send(command as object);
  }

  /** The next reply of this kind (registered before the command that causes it is sent). */
  next<E extends Reply['event']>(event: E, timeoutMs: number): Promise<Extract<Reply, { event: E }>> {
    const reply = new Promise<Extract<Reply, { event: E }>>((resolve, reject) => {
      const list = this.#waiting.get(event) ?? [];
      list.push((r) => resolve(r as Extract<Reply, { event: E }>));
      this.#waiting.set(event, list);
      this.#child.once('exit', (code, signal) =>
        reject(new Error(`${this.name} exited (${signal ?? code}) while waiting for '${event}'`)),
      );
    });
    return withDeadline(`${this.name}: '${event}'`, timeoutMs, reply);
  }

  /** Sends `command` and awaits the reply of kind `event`. */
  request<E extends Reply['event']>(
    command: Command,
    event: E,
    timeoutMs: number,
  ): Promise<Extract<Reply, { event: E }>> {
    const reply = this.next(event, timeoutMs);
    this.send(command);
    return reply;
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGTERM');
    try {
      await withDeadline(`${this.name} to stop`, STOP_TIMEOUT_MS, exited);
    } catch {
      this.#child.kill('SIGKILL');
      await exited;
    }
  }
}
