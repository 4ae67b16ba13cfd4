/**
 * Starts the test registry (registry.ts) on loopback for a whole test run and keeps it until
 * SIGTERM/SIGINT: `.ci/run` starts it, exports SKIFF_TEST_REGISTRY (`HOST:PORT`, the first line
 * of the file it writes) and SKIFF_TEST_REGISTRY_CA (the CA file named on the second line), and
 * stops it by PID at the end. Usage: node test/support/registry-serve.ts INFO_FILE
 */
import { rmSync, writeFileSync } from 'node:fs';
import { startRegistry } from './registry.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node test/support/registry-serve.ts INFO_FILE\n');
  process.exit(2);
}
const registry = await startRegistry();
const caFile = `${file}.ca.crt`;
writeFileSync(caFile, registry.caPem);
const stop = async () => {
  await registry.stop();
  rmSync(file, { force: true });
  rmSync(caFile, { force: true });
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
writeFileSync(file, `${registry.host}\n${caFile}\n`);
process.stderr.write(`test registry: ${registry.host} (CA ${caFile})\n`);
