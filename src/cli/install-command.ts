/**
 * `skiff install server|agent [--dry-run] [--root DIR]` and `skiff uninstall server|agent
 * [--purge]`: carry out the plan of install-units.ts, printing each step as it goes (and each
 * written file's content with `--dry-run`, which changes nothing). `--root DIR` writes under DIR
 * instead of `/` and tells no systemd, for packaging and tests.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBinaryBuild } from '../build/build-info.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { StartupError, UsageError } from './errors.ts';
import {
  DAEMON_ROLES,
  type DaemonRole,
  describeStep,
  INSTALLED_BINARY,
  installPlan,
  type Step,
  uninstallPlan,
} from './install-units.ts';
import { printText } from './output.ts';
import { parseCommandArgs, singlePositional } from './parse-args.ts';
import { commandUsage } from './usage.ts';

export async function runInstall(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.install,
  });
  if (values.help) return printText(commandUsage('install'));
  const role = roleFrom(positionals, 'install');
  const root = values.root === undefined ? '/' : resolve(values.root);
  const executable = currentExecutable();
  const steps = installPlan({
    role,
    executable,
    executableIsBinary: isBinaryBuild(),
    exists: (path) => existsSync(under(root, path)),
    start: root === '/',
  });
  carryOut(steps, root, values['dry-run'] ?? false);
}

export async function runUninstall(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.uninstall,
  });
  if (values.help) return printText(commandUsage('uninstall'));
  const role = roleFrom(positionals, 'uninstall');
  const root = values.root === undefined ? '/' : resolve(values.root);
  const steps = uninstallPlan({
    role,
    skiff: isBinaryBuild() ? INSTALLED_BINARY : currentExecutable(),
    exists: (path) => existsSync(under(root, path)),
    purge: values.purge ?? false,
    stop: root === '/',
  });
  carryOut(steps, root, values['dry-run'] ?? false);
}

function roleFrom(positionals: readonly string[], command: string): DaemonRole {
  const role = singlePositional(positionals, 'server or agent');
  if (!(DAEMON_ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`${command}: expected server or agent, got "${role}"`);
  }
  return role as DaemonRole;
}

/** The single executable itself, or a checkout's bin/skiff. */
function currentExecutable(): string {
  if (isBinaryBuild()) return process.execPath;
  return realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'skiff'));
}

function under(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

function carryOut(steps: readonly Step[], root: string, dryRun: boolean): void {
  const out = (text: string) => process.stdout.write(text);
  if (dryRun) out(`# dry run: nothing is changed${root === '/' ? '' : ` (root ${root})`}\n`);
  for (const step of steps) {
    out(`${describeStep(step)}\n`);
    if (dryRun) {
      if (step.kind === 'write') out(`${step.content.replace(/^(?=.)/gm, '    ').trimEnd()}\n`);
      continue;
    }
    try {
      perform(step, root);
    } catch (error) {
      throw new StartupError(
        `${describeStep(step)} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}

function perform(step: Step, root: string): void {
  switch (step.kind) {
    case 'copy': {
      const to = under(root, step.to);
      mkdirSync(dirname(to), { recursive: true });
      // Beside, then renamed over: a running skiff's file is replaced, never written into.
      const partial = `${to}.partial`;
      copyFileSync(step.from, partial);
      chmodSync(partial, step.mode);
      renameSync(partial, to);
      return;
    }
    case 'write': {
      const path = under(root, step.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, step.content, { mode: step.mode });
      chmodSync(path, step.mode);
      return;
    }
    case 'remove':
      rmSync(under(root, step.path), { force: true });
      return;
    case 'keep':
      return;
    case 'run':
      execFileSync(step.argv[0] ?? 'false', step.argv.slice(1), { stdio: 'inherit' });
      return;
  }
}
