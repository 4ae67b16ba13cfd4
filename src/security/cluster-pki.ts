/**
 * The server's certificate authority in DIR: made at first start, kept as mode-0600 files, used
 * to issue the serving certificate (re-issued at every start and renewed while running) and node
 * certificates; it also holds the join token, which pins the CA. Which certificate a node may
 * present is remembered in the store (`node_cert:<name>`: its current and previous serials), so
 * `skiff node rm` revokes a node by forgetting them.
 *
 * The CA, its key and the join secret also live in the store (shared-ca.ts, the key and secret
 * sealed under the cluster key), and the store's copy wins: every server of a cluster on one
 * store (etcd) signs with the same CA, so a node certificate is valid on each. A server whose
 * store holds none (the first start) makes one, or takes the one its files hold (a cluster from
 * before), and puts it there; the files stay, for the CLI and agents on this host.
 *
 * Files: ca.crt (the trusted CAs, current first; two after a rotation), ca.key (the current
 * CA's key), ca-cross.crt (after a rotation: the current CA signed by the previous one),
 * server.crt (leaf, then ca-cross.crt), server.key, join.token.
 *
 * CA rotation (`rotateCa`): a new CA signs from then on; the previous one stays trusted (until the
 * next rotation), and the serving certificate carries the new CA cross-signed by the previous,
 * so clients and agents holding only the previous CA keep verifying the server. Agents notice
 * the new bundle at `GET /ca.crt` and renew onto the new CA; the join token is reissued (new
 * digest, new secret).
 */
import { timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { z } from 'zod';
import {
  certificateDigest,
  certificateFacts,
  createCa,
  crossSignCa,
  issueNodeCertificate,
  issueServingCertificate,
  type KeyAndCertificate,
} from './certificates.ts';
import type { ListenerTls } from './first-byte-listener.ts';
import { formatJoinToken, newJoinSecret, parseJoinToken } from './join-token.ts';
import { splitPemBundle } from './pem.ts';
import { readTextIfExists, writePrivateFile } from './private-files.ts';
import { renewalCheckIntervalMs, renewalDueAtMs } from './renewal.ts';
import { servingNames } from './serving-names.ts';
import { type CaState, readSharedCa, SHARED_CA_META_KEY, sharedCaText } from './shared-ca.ts';

export const CA_LIFETIME_MS = 10 * 365 * 24 * 3_600_000;
export const DEFAULT_CERT_LIFETIME_MS = 90 * 24 * 3_600_000;
/** How often a server looks for another server's CA rotation in the store. */
const CA_FOLLOW_INTERVAL_MS = 2000;

/** This host's copy of the CA, for the CLI and agents on it: the cross certificate first, the key last. */
function writeCaFiles(dir: string, state: CaState): void {
  if (state.chain.length > 0) writePrivateFile(join(dir, 'ca-cross.crt'), state.chain.join('\n'));
  writePrivateFile(join(dir, 'ca.crt'), state.trusted.join('\n'));
  writePrivateFile(join(dir, 'ca.key'), state.ca.keyPem);
}

export interface MetaStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

export interface PkiOptions {
  readonly dataDir: string;
  readonly clusterId: string;
  readonly store: MetaStore;
  /** Seals the CA's key and the join secret in the store (DIR/cluster.key). */
  readonly clusterKey: Buffer;
  readonly listen: string;
  readonly sans: readonly string[];
  /** Lifetime of serving and node certificates; short in tests to watch renewal. */
  readonly certLifetimeMs: number;
  /** An operator's own serving certificate and key (PEM files), used instead of ours, not renewed. */
  readonly operatorCert?: { readonly certPath: string; readonly keyPath: string };
  readonly now: () => number;
  readonly log: (message: string) => void;
}

export class NodeCertificateConflictError extends Error {
  override readonly name = 'NodeCertificateConflictError';
}

const serialsSchema = z.array(z.string());
const metaKey = (nodeName: string) => `node_cert:${nodeName}`;

export class ClusterPki {
  readonly #options: PkiOptions;
  #ca: KeyAndCertificate;
  /** Every CA whose certificates are accepted, PEM, current first. */
  #trusted: string[];
  /** Intermediate certificates served after the leaf (the cross-signed CA after a rotation). */
  #chain: string[];
  #serving: KeyAndCertificate & { dueAtMs: number };
  #tlsOptions: ListenerTls = {};
  readonly #renewed: (() => void)[] = [];
  #joinSecret: string;
  #timer: NodeJS.Timeout | undefined;
  #followTimer: NodeJS.Timeout | undefined;
  /** The store's `cluster_ca` text last taken in: another server's rotation changes it. */
  #sharedText: string | undefined;

  private constructor(
    options: PkiOptions,
    state: { ca: KeyAndCertificate; trusted: string[]; chain: string[]; secret: string },
  ) {
    this.#options = options;
    this.#ca = state.ca;
    this.#trusted = state.trusted;
    this.#chain = state.chain;
    this.#joinSecret = state.secret;
    this.#serving = { keyPem: '', certPem: '', dueAtMs: Number.POSITIVE_INFINITY };
  }

  static async open(options: PkiOptions): Promise<ClusterPki> {
    const dir = options.dataDir;
    const shared = readSharedCa(options.store, options.clusterKey);
    const state = shared ?? (await ClusterPki.#fromFiles(options));
    if (shared) writeCaFiles(dir, shared);
    const pki = new ClusterPki(options, state);
    if (shared) pki.#sharedText = options.store.getMeta(SHARED_CA_META_KEY);
    else pki.#share();
    pki.#writeJoinToken();
    await pki.#renewServing();
    return pki;
  }

  /** The CA of DIR's files (a cluster from before the store held it), or a new one. */
  static async #fromFiles(options: PkiOptions): Promise<CaState> {
    const dir = options.dataDir;
    const bundle = readTextIfExists(join(dir, 'ca.crt'));
    const key = readTextIfExists(join(dir, 'ca.key'));
    let ca: KeyAndCertificate;
    let trusted: string[];
    if (bundle && key) {
      trusted = splitPemBundle(bundle);
      ca = { keyPem: key, certPem: trusted[0] ?? '' };
    } else {
      ca = await createCa(options.clusterId, options.now(), CA_LIFETIME_MS);
      trusted = [ca.certPem];
      writePrivateFile(join(dir, 'ca.key'), ca.keyPem);
      writePrivateFile(join(dir, 'ca.crt'), ca.certPem);
      options.log(`created the cluster CA (${certificateDigest(ca.certPem).slice(0, 16)}…) in ${dir}`);
    }
    const chain = splitPemBundle(readTextIfExists(join(dir, 'ca-cross.crt')) ?? '');
    return { ca, trusted, chain, secret: readJoinSecret(dir) ?? newJoinSecret() };
  }

  /** Puts this CA and join secret in the store, for the other servers. */
  #share(): void {
    const text = sharedCaText(
      { ca: this.#ca, trusted: this.#trusted, chain: this.#chain, secret: this.#joinSecret },
      this.#options.clusterKey,
    );
    this.#options.store.setMeta(SHARED_CA_META_KEY, text);
    this.#sharedText = text;
  }

  /**
   * Takes in another server's change to the shared CA or join secret (a token rotation). A new
   * CA (another server's `ca rotate`) is taken in whole, without a restart: this host's files,
   * the trusted set agents' certificates are checked against, and a serving certificate of the
   * new CA with the cross-signed one behind it, as on the server that rotated.
   */
  #follow(): void {
    const text = this.#options.store.getMeta(SHARED_CA_META_KEY);
    if (text === undefined || text === this.#sharedText) return;
    const state = readSharedCa(this.#options.store, this.#options.clusterKey);
    this.#sharedText = text;
    if (!state) return;
    const secretChanged = state.secret !== this.#joinSecret;
    const caChanged = state.ca.certPem !== this.#ca.certPem || state.trusted.join() !== this.#trusted.join();
    this.#ca = state.ca;
    this.#trusted = state.trusted;
    this.#chain = state.chain;
    this.#joinSecret = state.secret;
    if (secretChanged) this.#writeJoinToken();
    if (!caChanged) return;
    writeCaFiles(this.#options.dataDir, state);
    this.#renewServing().then(
      () =>
        this.#options.log(`took in the rotated cluster CA (${this.caDigest.slice(0, 16)}…) from the store`),
      (error: unknown) => this.#options.log(`serving the rotated cluster CA failed: ${String(error)}`),
    );
  }

  /** The TLS settings of the listener now; renewals replace them and call `onRenewed`. */
  get tlsOptions(): ListenerTls {
    return this.#tlsOptions;
  }

  onRenewed(listener: () => void): void {
    this.#renewed.push(listener);
  }

  /** PEM of every trusted CA, current first: what `GET /ca.crt` serves and agents trust. */
  get caBundlePem(): string {
    this.#follow();
    return this.#trusted.join('\n');
  }

  get caDigest(): string {
    return certificateDigest(this.#ca.certPem);
  }

  get joinToken(): string {
    this.#follow();
    return formatJoinToken({ caDigest: this.caDigest, secret: this.#joinSecret });
  }

  get joinTokenPath(): string {
    return join(this.#options.dataDir, 'join.token');
  }

  get certLifetimeMs(): number {
    return this.#options.certLifetimeMs;
  }

  /** Is `presented` the current join secret (constant time)? */
  joinSecretIs(presented: string): boolean {
    this.#follow();
    const a = Buffer.from(presented);
    const b = Buffer.from(this.#joinSecret);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** A new join secret; joined agents keep their certificates, so nothing else changes. */
  rotateJoinToken(): string {
    this.#joinSecret = newJoinSecret();
    this.#share();
    this.#writeJoinToken();
    return this.joinToken;
  }

  /** A new CA (see the file comment); returns the reissued join token. */
  async rotateCa(): Promise<string> {
    const now = this.#options.now();
    const current = this.#ca;
    const next = await createCa(this.#options.clusterId, now, CA_LIFETIME_MS);
    const cross = await crossSignCa(current, next.certPem, now);
    const dir = this.#options.dataDir;
    // Order: the cross certificate and bundle first, the key last, so a crash in between leaves
    // the current CA signing and the next merely trusted.
    writePrivateFile(join(dir, 'ca-cross.crt'), cross);
    writePrivateFile(join(dir, 'ca.crt'), [next.certPem, current.certPem].join('\n'));
    writePrivateFile(join(dir, 'ca.key'), next.keyPem);
    this.#ca = next;
    this.#trusted = [next.certPem, current.certPem];
    this.#chain = [cross];
    this.#joinSecret = newJoinSecret();
    this.#share();
    this.#writeJoinToken();
    await this.#renewServing();
    this.#options.log(
      `rotated the cluster CA: now ${this.caDigest.slice(0, 16)}…, the previous one still trusted`,
    );
    return this.joinToken;
  }

  /**
   * Checks periodically and renews the serving certificate at two thirds of its life; follows
   * the store's CA every few seconds (a read of one meta key: from memory on etcd).
   */
  startRenewal(): void {
    this.#followTimer = setInterval(() => this.#follow(), CA_FOLLOW_INTERVAL_MS);
    this.#followTimer.unref();
    this.#timer = setInterval(() => {
      if (this.#options.now() >= this.#serving.dueAtMs) {
        this.#renewServing().catch((error: unknown) =>
          this.#options.log(`renewing the serving certificate failed: ${String(error)}`),
        );
      }
    }, renewalCheckIntervalMs(this.#options.certLifetimeMs));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearInterval(this.#followTimer);
  }

  /**
   * A first certificate for a joining node. A name that already has one is refused: only its
   * holder may use it (`skiff node rm NAME` frees it), so the join token alone cannot take over
   * a node.
   */
  async issueForJoin(nodeName: string, csrPem: string): Promise<string> {
    if (this.allowedSerials(nodeName).length > 0) {
      throw new NodeCertificateConflictError(
        `node ${nodeName} has already joined and holds a certificate; run "skiff node rm ${nodeName}" first to let another agent take its name`,
      );
    }
    return await this.#issueNode(nodeName, csrPem, []);
  }

  /** A renewed certificate for a node that authenticated with its current one. */
  async renew(nodeName: string, presentedSerial: string, csrPem: string): Promise<string> {
    const allowed = this.allowedSerials(nodeName);
    if (!allowed.includes(presentedSerial)) {
      throw new NodeCertificateConflictError(`the certificate of node ${nodeName} has been revoked`);
    }
    // The old one stays valid until the next renewal: the agent may crash before saving the new.
    return await this.#issueNode(nodeName, csrPem, [presentedSerial]);
  }

  allowedSerials(nodeName: string): string[] {
    const raw = this.#options.store.getMeta(metaKey(nodeName));
    if (raw === undefined) return [];
    const parsed = serialsSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : [];
  }

  /** `skiff node rm`: the node's certificates stop working at once. */
  revokeNode(nodeName: string): void {
    this.#options.store.setMeta(metaKey(nodeName), '[]');
  }

  async #issueNode(nodeName: string, csrPem: string, keep: string[]): Promise<string> {
    const certPem = await issueNodeCertificate({
      ca: this.#ca,
      nodeName,
      csrPem,
      now: this.#options.now(),
      lifetimeMs: this.#options.certLifetimeMs,
    });
    const serial = certificateFacts(certPem).serial;
    this.#options.store.setMeta(metaKey(nodeName), JSON.stringify([serial, ...keep]));
    return certPem;
  }

  async #renewServing(): Promise<void> {
    // The cluster's own serving certificate is made (and renewed) even beside an operator's: it
    // is what agents verify, by SNI, against the CA their join token pins.
    const names = servingNames({
      listen: this.#options.listen,
      interfaces: networkInterfaces(),
      hostname: hostname(),
      extra: this.#options.sans,
    });
    const issued = await issueServingCertificate({
      ca: this.#ca,
      names,
      now: this.#options.now(),
      lifetimeMs: this.#options.certLifetimeMs,
    });
    const facts = certificateFacts(issued.certPem);
    this.#serving = { ...issued, dueAtMs: renewalDueAtMs(facts.validFromMs, facts.validToMs) };
    writePrivateFile(join(this.#options.dataDir, 'server.key'), issued.keyPem);
    writePrivateFile(join(this.#options.dataDir, 'server.crt'), issued.certPem);
    const cluster: SecureContextOptions = {
      key: this.#serving.keyPem,
      cert: [this.#serving.certPem, ...this.#chain].join('\n'),
      // Client certificates (agents') are checked against every trusted CA.
      ca: this.#trusted,
    };
    const operator = this.#options.operatorCert;
    if (operator) {
      // Read again at every renewal, so an operator's renewed files are picked up too.
      const certPem = readTextIfExists(operator.certPath);
      const keyPem = readTextIfExists(operator.keyPath);
      if (!certPem || !keyPem)
        throw new Error(`cannot read --tls-cert ${operator.certPath} or --tls-key ${operator.keyPath}`);
      this.#tlsOptions = { key: keyPem, cert: certPem, ca: this.#trusted, agents: cluster };
    } else {
      this.#tlsOptions = { ...cluster, agents: cluster };
    }
    for (const listener of this.#renewed) listener();
  }

  #writeJoinToken(): void {
    writePrivateFile(this.joinTokenPath, `${this.joinToken}\n`);
  }
}

function readJoinSecret(dir: string): string | undefined {
  const text = readTextIfExists(join(dir, 'join.token'));
  if (!text) return undefined;
  try {
    return parseJoinToken(text).secret;
  } catch {
    // A token of the plain-WebSocket days (skiff_join_…): replaced by one that pins the CA.
    return undefined;
  }
}
