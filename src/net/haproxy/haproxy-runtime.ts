/**
 * HAProxy's runtime API over its unix socket (the `stats socket` of the config): one connection
 * per batch, the commands joined by `;` on one line (HAProxy answers each in turn, then closes).
 * `set server` answers nothing when it worked and a sentence when it did not, so any answer text
 * to a `set` is an error.
 */
import { connect } from 'node:net';
import { HaproxyRuntimeError } from './haproxy-errors.ts';

const TIMEOUT_MS = 3000;

/** Sends `commands` (no `;` or newline inside one) and returns HAProxy's whole answer. */
export function runtimeCommand(socketPath: string, commands: readonly string[]): Promise<string> {
  for (const command of commands) {
    if (/[;\n]/.test(command))
      throw new HaproxyRuntimeError(command, 'a command may not hold ; or a newline');
  }
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => socket.destroy(new HaproxyRuntimeError(commands.join('; '), `no answer in ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(
        error instanceof HaproxyRuntimeError
          ? error
          : new HaproxyRuntimeError(commands.join('; '), error.message),
      );
    });
    socket.once('close', (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.end(`${commands.join(';')}\n`);
  });
}

// What `set server … addr` says when it worked (a `state` change says nothing).
const DONE = /^(IP changed from|port changed from|no need to change)/;

/** The lines of a `set` batch's answer that are refusals, not reports of a change made. Pure. */
export function refusals(answer: string): string[] {
  return answer
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !DONE.test(line));
}

/** Applies `set …` commands; throws HaproxyRuntimeError with HAProxy's words if any was refused. */
export async function runtimeSet(socketPath: string, commands: readonly string[]): Promise<void> {
  if (commands.length === 0) return;
  const refused = refusals(await runtimeCommand(socketPath, commands));
  if (refused.length > 0) throw new HaproxyRuntimeError(commands.join('; '), refused.join(' | '));
}

/** The worker's PID as `show info` reports it (it changes with every reload). */
export async function workerPid(socketPath: string): Promise<number | undefined> {
  const answer = await runtimeCommand(socketPath, ['show info']);
  const match = /^Pid: (\d+)$/m.exec(answer);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
