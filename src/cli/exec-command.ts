/**
 * `skiff exec [-i] [-t] [--user U] [--workdir D] [-e K=V] TARGET [--] CMD ARGS…`: a command in a
 * replica (`api-server-2`) or any running replica of a service, through its agent, over one
 * WebSocket (src/api/exec-upgrade.ts). Options end at TARGET; everything after it is the command.
 * Output goes to stdout/stderr, `-i` sends stdin, `-t` gives a terminal (raw mode and resizes
 * when stdin is one), and the command's exit status is the CLI's.
 */
import { WebSocket } from 'ws';
import { z } from 'zod';
import { EXEC_STREAM } from '../api/exec-upgrade.ts';
import { trustClusterCa } from './cluster-trust.ts';
import { parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { processConnectionSources, resolveConnection } from './connection.ts';
import { ApiError, ConnectionError, RemoteExitError, UsageError } from './errors.ts';
import { printText } from './output.ts';
import { commandUsage } from './usage.ts';

const exitSchema = z.object({
  type: z.literal('exit'),
  exit_code: z.number().int().nullable(),
  error: z.string().nullable(),
});

/** The arguments before TARGET are ours; TARGET and what follows are the command's. */
export function splitExecArgs(argv: readonly string[]): {
  own: string[];
  target?: string;
  command: string[];
} {
  const takesValue = new Set([
    '--user',
    '-u',
    '--workdir',
    '-w',
    '--env',
    '-e',
    '--server',
    '--token',
    '--data-dir',
    '--ca',
    '--context',
  ]);
  const own: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return { own, ...rest(argv.slice(i + 1)) };
    if (!arg.startsWith('-') || arg === '-')
      return { own, target: arg, command: argv.slice(i + 1).filter((a, j) => j > 0 || a !== '--') };
    own.push(arg);
    if (takesValue.has(arg) && i + 1 < argv.length) own.push(argv[++i] as string);
  }
  return { own, command: [] };
}

function rest(args: readonly string[]): { target?: string; command: string[] } {
  const [target, ...command] = args;
  return target === undefined ? { command: [] } : { target, command };
}

export async function runExec(argv: string[]): Promise<void> {
  const split = splitExecArgs(argv);
  const { values } = parseCommandArgs({
    args: split.own,
    allowPositionals: false,
    options: COMMAND_OPTIONS.exec,
  });
  if (values.help) return printText(commandUsage('exec'));
  if (split.target === undefined) throw new UsageError('exec: a replica or service name is required');
  if (split.command.length === 0) throw new UsageError('exec: give the command to run after the name');
  const tty = values.tty === true;
  const interactive = values.interactive === true;
  const connection = resolveConnection(values, processConnectionSources());
  if (connection.caPem !== undefined) trustClusterCa(connection.caPem);
  const url = new URL(`${connection.serverUrl.replace(/^http/, 'ws')}/api/exec`);
  url.searchParams.set('target', split.target);
  for (const arg of split.command) url.searchParams.append('cmd', arg);
  url.searchParams.set('tty', String(tty));
  url.searchParams.set('stdin', String(interactive));
  if (values.user) url.searchParams.set('user', values.user);
  if (values.workdir) url.searchParams.set('workdir', values.workdir);
  for (const pair of values.env ?? []) url.searchParams.append('env', pair);
  if (tty && process.stdout.isTTY) {
    url.searchParams.set('cols', String(process.stdout.columns));
    url.searchParams.set('rows', String(process.stdout.rows));
  }
  const code = await session(url, connection.token, { tty, interactive });
  if (code !== 0) throw new RemoteExitError(code);
}

async function session(
  url: URL,
  token: string | undefined,
  mode: { tty: boolean; interactive: boolean },
): Promise<number> {
  const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const rawStdin = mode.tty && mode.interactive && process.stdin.isTTY;
  let result: { code: number | null; error: string | null } | undefined;
  const cleanups: (() => void)[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () => {
          let message = body;
          try {
            message = String((JSON.parse(body) as { error?: unknown }).error ?? body);
          } catch {}
          reject(new ApiError(response.statusCode ?? 0, message, []));
        });
      });
      ws.once('error', (error) => reject(new ConnectionError(url.origin, error.message, { cause: error })));
      ws.once('open', () => resolve());
    });
    ws.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        (bytes[0] === EXEC_STREAM.stderr ? process.stderr : process.stdout).write(bytes.subarray(1));
        return;
      }
      const exit = exitSchema.safeParse(JSON.parse(bytes.toString()));
      if (exit.success) result = { code: exit.data.exit_code, error: exit.data.error };
    });
    if (mode.interactive) {
      if (rawStdin) {
        process.stdin.setRawMode(true);
        cleanups.push(() => process.stdin.setRawMode(false));
      }
      const onData = (chunk: Buffer) => ws.send(chunk, { binary: true });
      const onEnd = () => ws.send(JSON.stringify({ type: 'stdin_end' }));
      process.stdin.on('data', onData);
      process.stdin.once('end', onEnd);
      cleanups.push(() => {
        process.stdin.off('data', onData);
        process.stdin.off('end', onEnd);
        process.stdin.pause();
      });
    }
    if (mode.tty && process.stdout.isTTY) {
      const onResize = () =>
        ws.send(JSON.stringify({ type: 'resize', cols: process.stdout.columns, rows: process.stdout.rows }));
      process.stdout.on('resize', onResize);
      cleanups.push(() => process.stdout.off('resize', onResize));
    }
    await new Promise<void>((resolve) => ws.once('close', () => resolve()));
  } finally {
    for (const cleanup of cleanups) cleanup();
  }
  if (result === undefined)
    throw new ConnectionError(url.origin, 'the server closed the exec before it ended');
  if (result.error !== null) throw new ApiError(500, `exec: ${result.error}`, []);
  return result.code ?? 1;
}
