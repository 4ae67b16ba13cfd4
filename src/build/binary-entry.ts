/**
 * The single executable's entry point: main.ts without its top-level await (the bundle is
 * CommonJS, which has none), plus `skiff __binary-selftest`, which the binary test runs to prove
 * what only the binary can get wrong: modules that read files at run time (etcd3's .proto files),
 * node:sqlite, and the embedded dashboard assets. `skiff agent` runs with the agent's Node options
 * (bin/node-flags), restarting itself with them first: the SEA's main, sea-main.ts, does that before
 * it reads this bundle, which it compiles with the code cache for the options it runs with.
 */
import { runCli } from '../cli/cli.ts';

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

const argv = process.argv.slice(2);
// In a single executable argv[1] is the executable itself, as a script's path is for node.
if (argv[0] === '__binary-selftest') {
  import('./binary-selftest.ts').then(
    (selftest) => {
      process.exitCode = selftest.runSelftest();
    },
    (error: unknown) => {
      process.stderr.write(`selftest: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
} else {
  runCli(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
