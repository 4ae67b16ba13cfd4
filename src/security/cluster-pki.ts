/**
 * The server's certificate authority in DIR: made at first start, kept as mode-0600 files, used
 * to issue the serving certificate (re-issued at every start and renewed while running) and node
 * certificates; it also holds the join token, which pins the CA. Which certificate a node may
 * present is remembered in the store (`node_cert:<name>`: its current and previous serials), so
 * `skiff node rm` revokes a node by forgetting them.
 *
 * Files: ca.crt (the trusted CAs, current first; two during a rotation), ca.key (the current
 * CA's key), server.crt (leaf, then the chain), server.key, join.token.
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
  issueNodeCertificate,
  issueServingCertificate,
  type KeyAndCertificate,
} from './certificates.ts';
import { formatJoinToken, newJoinSecret, parseJoinToken } from './join-token.ts';
import { splitPemBundle } from './pem.ts';
import { readTextIfExists, writePrivateFile } from './private-files.ts';
import { renewalCheckIntervalMs, renewalDueAtMs } from './renewal.ts';
import { servingNames } from './serving-names.ts';

export const CA_LIFETIME_MS = 10 * 365 * 24 * 3_600_000;
export const DEFAULT_CERT_LIFETIME_MS = 90 * 24 * 3_600_000;

export interface MetaStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
}

export interface PkiOptions {
  readonly dataDir: string;
  readonly clusterId: string;
  readonly store: MetaStore;
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
  #serving: KeyAndCertificate & { dueAtMs: number };
  #tlsOptions: SecureContextOptions = {};
  readonly #renewed: (() => void)[] = [];
  #joinSecret: string;
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    options: PkiOptions,
    state: { ca: KeyAndCertificate; trusted: string[]; secret: string },
  ) {
    this.#options = options;
    this.#ca = state.ca;
    this.#trusted = state.trusted;
    this.#joinSecret = state.secret;
    this.#serving = { keyPem: '', certPem: '', dueAtMs: Number.POSITIVE_INFINITY };
  }

  static async open(options: PkiOptions): Promise<ClusterPki> {
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
    const pki = new ClusterPki(options, { ca, trusted, secret: readJoinSecret(dir) ?? newJoinSecret() });
    pki.#writeJoinToken();
    await pki.#renewServing();
    return pki;
  }

  /** The TLS settings of the listener now; renewals replace them and call `onRenewed`. */
  get tlsOptions(): SecureContextOptions {
    return this.#tlsOptions;
  }

  onRenewed(listener: () => void): void {
    this.#renewed.push(listener);
  }

  /** PEM of every trusted CA, current first: what `GET /ca.crt` serves and agents trust. */
  get caBundlePem(): string {
    return this.#trusted.join('\n');
  }

  get caDigest(): string {
    return certificateDigest(this.#ca.certPem);
  }

  get joinToken(): string {
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
    const a = Buffer.from(presented);
    const b = Buffer.from(this.#joinSecret);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** A new join secret; joined agents keep their certificates, so nothing else changes. */
  rotateJoinToken(): string {
    this.#joinSecret = newJoinSecret();
    this.#writeJoinToken();
    return this.joinToken;
  }

  /** Checks periodically and renews the serving certificate at two thirds of its life. */
  startRenewal(): void {
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
    const operator = this.#options.operatorCert;
    if (operator) {
      const certPem = readTextIfExists(operator.certPath);
      const keyPem = readTextIfExists(operator.keyPath);
      if (!certPem || !keyPem)
        throw new Error(`cannot read --tls-cert ${operator.certPath} or --tls-key ${operator.keyPath}`);
      this.#serving = { keyPem, certPem, dueAtMs: Number.POSITIVE_INFINITY };
    } else {
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
    }
    this.#tlsOptions = {
      key: this.#serving.keyPem,
      cert: this.#serving.certPem,
      // Client certificates (agents') are checked against every trusted CA.
      ca: this.#trusted,
    };
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
