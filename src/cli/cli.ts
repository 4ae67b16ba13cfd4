/**
 * The command dispatcher: picks the command named by the first argument, runs it, and turns what
 * it throws into a message and an exit status (2 for a wrong command line, 1 for everything that
 * went wrong after it). Commands are imported lazily so each pays only for what it uses.
 */
import {
  ApiError,
  ConnectionError,
  ConvergenceError,
  ExitStatusError,
  RemoteExitError,
  ResponseShapeError,
  StartupError,
  UsageError,
} from './errors.ts';
import { type CommandName, commandUsage, isCommandName, mainUsage } from './usage.ts';

type Runner = (argv: string[]) => Promise<void>;

const RUNNERS: Record<CommandName, () => Promise<Runner>> = {
  up: async () => (await import('./process-commands.ts')).runUp,
  server: async () => (await import('./process-commands.ts')).runServer,
  agent: async () => (await import('./process-commands.ts')).runAgent,
  deploy: async () => (await import('./deploy-command.ts')).runDeploy,
  scale: async () => (await import('./scale-command.ts')).runScale,
  ps: async () => (await import('./ps-command.ts')).runPs,
  logs: async () => (await import('./logs-command.ts')).runLogs,
  events: async () => (await import('./events-command.ts')).runEvents,
  stats: async () => (await import('./stats-command.ts')).runStats,
  rm: async () => (await import('./rm-command.ts')).runRm,
  top: async () => (await import('./top/top-command.ts')).runTop,
  nodes: async () => (await import('./nodes-command.ts')).runNodes,
  servers: async () => (await import('./servers-command.ts')).runServers,
  node: async () => (await import('./node-command.ts')).runNode,
  volume: async () => (await import('./volume-command.ts')).runVolume,
  rollout: async () => (await import('./rollout-command.ts')).runRollout,
  token: async () => (await import('./token-command.ts')).runToken,
  ca: async () => (await import('./token-command.ts')).runCa,
  policy: async () => (await import('./policy-command.ts')).runPolicy,
  store: async () => (await import('./store-commands.ts')).runStore,
  snapshot: async () => (await import('./store-commands.ts')).runSnapshot,
  secret: async () => (await import('./secret-command.ts')).runSecret,
  config: async () => (await import('./secret-command.ts')).runConfig,
  registry: async () => (await import('./registry-command.ts')).runRegistry,
  stack: async () => (await import('./stack-command.ts')).runStack,
  image: async () => (await import('./image-command.ts')).runImage,
  exec: async () => (await import('./exec-command.ts')).runExec,
  context: async () => (await import('./context-command.ts')).runContext,
  completion: async () => (await import('./completion-command.ts')).runCompletion,
  install: async () => (await import('./install-command.ts')).runInstall,
  uninstall: async () => (await import('./install-command.ts')).runUninstall,
  version: async () => (await import('./version-command.ts')).runVersion,
};

export async function runCli(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) return usageError(mainUsage());
  if (command === '--help' || command === '-h') return help(rest[0]);
  if (command === 'help') return help(rest[0]);
  // Hidden: what the completion scripts call on TAB (completion-command.ts). Never an error.
  if (command === '__complete') {
    await (await import('./completion-command.ts')).runComplete(rest);
    return 0;
  }
  if (!isCommandName(command)) return usageError(`skiff: unknown command "${command}"\n\n${mainUsage()}`);
  try {
    await (await RUNNERS[command]())(rest);
    return 0;
  } catch (error) {
    return report(error, command);
  }
}

function help(topic: string | undefined): number {
  if (topic === undefined) {
    process.stdout.write(mainUsage());
    return 0;
  }
  if (!isCommandName(topic)) return usageError(`skiff: unknown command "${topic}"\n\n${mainUsage()}`);
  process.stdout.write(commandUsage(topic));
  return 0;
}

function usageError(text: string): number {
  process.stderr.write(text);
  return 2;
}

function report(error: unknown, command: CommandName): number {
  // Not a failure of ours: the status of the command `skiff exec` ran, passed on silently.
  if (error instanceof RemoteExitError || error instanceof ExitStatusError) return error.exitCode;
  if (error instanceof UsageError) {
    return usageError(`error: ${error.message}\nRun "skiff ${command} --help" for usage.\n`);
  }
  if (error instanceof ApiError) {
    const details = error.details.map((detail) => `  ${detail}\n`).join('');
    process.stderr.write(`error: ${error.message}\n${details}`);
    return 1;
  }
  const expected =
    error instanceof ConnectionError ||
    error instanceof ResponseShapeError ||
    error instanceof ConvergenceError ||
    error instanceof StartupError;
  // Anything else is a bug (or a process command's failure): the stack helps, on request.
  const stack = !expected && process.env.SKIFF_DEBUG && error instanceof Error ? `\n${error.stack}` : '';
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}${stack}\n`);
  return 1;
}
