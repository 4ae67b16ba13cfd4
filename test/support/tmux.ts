/**
 * A real terminal for tests of full-screen and TTY behaviour: a tmux server on a socket of the
 * test's own (unique to the process), a session of a given size running one command, its screen
 * read by capture-pane and keys sent by send-keys. Killed with its sessions by `kill()`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from './eventually.ts';

const run = promisify(execFile);

export class TmuxTerminal {
  readonly #socket: string;
  readonly #session: string;
  #started = false;

  constructor(name: string) {
    this.#socket = `skiff-${name}-test-${process.pid}`;
    this.#session = name;
  }

  tmux(...args: string[]) {
    return run('tmux', ['-L', this.#socket, ...args]);
  }

  async start(command: string, size: { cols: number; rows: number }): Promise<void> {
    await this.tmux(
      'new-session',
      '-d',
      '-s',
      this.#session,
      '-x',
      String(size.cols),
      '-y',
      String(size.rows),
      command,
    );
    this.#started = true;
  }

  async screen(): Promise<string> {
    return (await this.tmux('capture-pane', '-p', '-t', this.#session)).stdout;
  }

  /** Waits until the screen matches, and returns it; the last screen is in the failure. */
  shows(what: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return eventually(
      what,
      async () => {
        const text = await this.screen();
        return pattern.test(text) ? text : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}\n--- screen ---\n${await this.screen().catch(() => '(gone)')}`);
    });
  }

  async keys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', this.#session, ...keys);
  }

  async resize(size: { cols: number; rows: number }): Promise<void> {
    await this.tmux('resize-window', '-t', this.#session, '-x', String(size.cols), '-y', String(size.rows));
  }

  /** Whether the session still runs (its command has not exited). */
  async running(): Promise<boolean> {
    const sessions = await this.tmux('list-sessions').catch(() => ({ stdout: '' }));
    return sessions.stdout.includes(`${this.#session}:`);
  }

  async kill(): Promise<void> {
    if (this.#started) await this.tmux('kill-server').catch(() => {});
  }
}
