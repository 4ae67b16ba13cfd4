/**
 * The `skiff` entry point: runs the command line (cli.ts) and exits with its status.
 */
import { runCli } from './cli.ts';

// A reader that goes away (`skiff logs -f web | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

// exitCode rather than exit(): pending stdout writes to a pipe are flushed before the process ends.
process.exitCode = await runCli(process.argv.slice(2));
