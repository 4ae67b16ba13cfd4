/**
 * Starts the 3-member test etcd cluster (etcd.ts) for a whole test run and keeps it until
 * SIGTERM/SIGINT: `.ci/run` starts it, exports SKIFF_TEST_ETCD_ENDPOINTS from the file it writes,
 * and stops it by PID at the end. Usage: node test/support/etcd-serve.ts ENDPOINTS_FILE
 */
import { rmSync, writeFileSync } from 'node:fs';
import { startEtcdCluster } from './etcd.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node test/support/etcd-serve.ts ENDPOINTS_FILE\n');
  process.exit(2);
}
const cluster = await startEtcdCluster();
const stop = async () => {
  await cluster.stop();
  rmSync(file, { force: true });
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
writeFileSync(file, `${cluster.endpoints.join(',')}\n`);
process.stderr.write(`etcd test cluster: ${cluster.endpoints.join(',')}\n`);
