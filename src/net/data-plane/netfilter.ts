/**
 * The edge of the kernel data path: reads the nat and filter tables with `iptables-save` and
 * writes a planned rule set with one `iptables-restore --noflush` (each table is swapped
 * atomically, so a connection never sees half a change). What to write is decided in
 * `netfilter-rules.ts`.
 */
import { spawn } from 'node:child_process';
import { cleanupScript, parseSave, type RuleSet, restoreScript, type SavedRules } from './netfilter-rules.ts';

const TIMEOUT_MS = 10_000;

export class NetfilterError extends Error {
  override readonly name = 'NetfilterError';
  /** The restore input that was refused, for the log (too long for an event). */
  readonly input: string | undefined;

  constructor(message: string, options?: ErrorOptions & { input?: string }) {
    super(message, options);
    this.input = options?.input;
  }
}

function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: TIMEOUT_MS,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) =>
      reject(new NetfilterError(`${command}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else {
        const stderr = Buffer.concat(err).toString('utf8').trim();
        reject(new NetfilterError(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
      }
    });
    if (input !== undefined && child.stdin) {
      // A command that exits before reading all of it (a refused line) closes the pipe: its exit
      // code says what went wrong, so EPIPE here is no error of its own.
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}

export async function saveRules(): Promise<SavedRules> {
  const nat = await run('iptables-save', ['-t', 'nat']);
  const filter = await run('iptables-save', ['-t', 'filter']);
  return parseSave(`${nat}\n${filter}`);
}

async function restore(script: string): Promise<void> {
  if (script === '') return;
  try {
    await run('iptables-restore', ['--noflush', '--wait'], script);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new NetfilterError(message, { cause: error, input: script });
  }
}

/** Makes our chains hold `rules` (and deletes our chains that are no longer wanted). */
export async function applyRules(rules: RuleSet): Promise<void> {
  await restore(restoreScript(rules, await saveRules()));
}

/** Removes every chain starting with `prefix` and the jumps into them; true if there was any. */
export async function removeRules(prefix: string): Promise<boolean> {
  const script = cleanupScript(await saveRules(), prefix);
  await restore(script);
  return script !== '';
}
