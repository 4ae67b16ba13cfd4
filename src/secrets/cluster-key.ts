/**
 * The cluster key: 32 random bytes in DIR/cluster.key (mode 0600), outside the database, so a
 * copy of skiff.db alone reveals no secret. Several servers, snapshots and store migrations need
 * the same file.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_BYTES } from './sealed-box.ts';

export class ClusterKeyError extends Error {
  override readonly name = 'ClusterKeyError';
}

export function ensureClusterKey(dataDir: string): Buffer {
  const path = join(dataDir, 'cluster.key');
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== KEY_BYTES)
      throw new ClusterKeyError(
        `${path} does not hold a ${KEY_BYTES}-byte key (base64); restore the cluster's key file`,
      );
    return key;
  }
  const key = randomBytes(KEY_BYTES);
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return key;
}
