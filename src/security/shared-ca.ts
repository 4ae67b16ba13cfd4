/**
 * The cluster CA in the store, so every server of a cluster signs and verifies with the same one:
 * a node certificate issued by one server is accepted by all, and the join token (which pins the
 * CA and carries the join secret) is the same everywhere. The CA's key and the join secret are
 * sealed under the cluster key (DIR/cluster.key, src/secrets), which every server is given as a
 * file and which never enters the store; the certificates are public.
 *
 * Meta key `cluster_ca`: { trusted: [PEM, current first], chain: [PEM], key: sealed PEM,
 * join_secret: sealed }.
 */
import { z } from 'zod';
import { ClusterKeyError } from '../secrets/cluster-key.ts';
import { open, SealedBoxError, seal } from '../secrets/sealed-box.ts';
import type { KeyAndCertificate } from './certificates.ts';

export const SHARED_CA_META_KEY = 'cluster_ca';

const sharedCaSchema = z.object({
  trusted: z.array(z.string()).min(1),
  chain: z.array(z.string()),
  key: z.string(),
  join_secret: z.string(),
});

export interface CaState {
  readonly ca: KeyAndCertificate;
  readonly trusted: string[];
  readonly chain: string[];
  readonly secret: string;
}

export interface MetaReader {
  getMeta(key: string): string | undefined;
}

/** The CA the store holds, opened with the cluster key; undefined when the store has none yet. */
export function readSharedCa(store: MetaReader, clusterKey: Buffer): CaState | undefined {
  const text = store.getMeta(SHARED_CA_META_KEY);
  if (text === undefined) return undefined;
  const parsed = sharedCaSchema.parse(JSON.parse(text));
  try {
    return {
      ca: {
        certPem: parsed.trusted[0] ?? '',
        keyPem: open(clusterKey, parsed.key, 'ca-key').toString('utf8'),
      },
      trusted: parsed.trusted,
      chain: parsed.chain,
      secret: open(clusterKey, parsed.join_secret, 'join-secret').toString('utf8'),
    };
  } catch (error) {
    if (!(error instanceof SealedBoxError)) throw error;
    throw new ClusterKeyError(
      "the cluster CA in the store does not open with this server's cluster.key: every server of a cluster needs the same key file (copy DIR/cluster.key from the first server)",
    );
  }
}

export function sharedCaText(state: CaState, clusterKey: Buffer): string {
  return JSON.stringify({
    trusted: state.trusted,
    chain: state.chain,
    key: seal(clusterKey, Buffer.from(state.ca.keyPem), 'ca-key'),
    join_secret: seal(clusterKey, Buffer.from(state.secret), 'join-secret'),
  });
}
