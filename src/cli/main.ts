/**
 * The `skiff` entry point: runs the command line (cli.ts) and exits with its status.
 */
import { enableCompileCache } from 'node:module';
import { installDeferredRequires } from '../docker/deferred-requires.ts';

// Node keeps the compiled (and type-stripped) modules in its compile cache (NODE_COMPILE_CACHE,
// or a directory under the system's temporary one), keyed by content: a daemon restarted from a
// checkout, an agent above all, starts in about 60% of the time. The binary has its own code
// caches (code-cache.ts). Imported after, so that the cache is on before the modules load.
enableCompileCache();
// Before anything imports dockerode: its BuildKit session and SSH transport load at first use.
installDeferredRequires();
const { runCli } = await import('./cli.ts');

// A reader that goes away (`skiff logs -f web | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

// exitCode rather than exit(): pending stdout writes to a pipe are flushed before the process ends.
process.exitCode = await runCli(process.argv.slice(2));
