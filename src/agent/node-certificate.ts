/**
 * The agent's node certificate over time: loaded from the data dir, got by joining when there is
 * none (or it belongs to another cluster than the join token's, or the server refused it), and
 * renewed at two thirds of its life, or at once when the server's CA bundle changed (a CA
 * rotation), without touching the open connection.
 */
import { certificateFacts } from '../security/certificate-facts.ts';
import { httpsRequest } from '../security/https-json.ts';
import {
  httpsBase,
  identityMatchesToken,
  joinCluster,
  loadIdentity,
  type NodeIdentity,
  renewalDueMs,
  renewIdentity,
} from '../security/node-identity.ts';
import { renewalCheckIntervalMs } from '../security/renewal.ts';

export interface NodeCertificateOptions {
  /** The server to join or renew at: the one the agent dials now. */
  readonly server: () => string;
  readonly joinToken: string | undefined;
  readonly nodeName: string;
  readonly dataDir: string;
  readonly log: (message: string) => void;
}

export class NoJoinTokenError extends Error {
  override readonly name = 'NoJoinTokenError';
}

export class NodeCertificate {
  readonly #options: NodeCertificateOptions;
  #identity: NodeIdentity | undefined;
  #refused = false;
  #timer: NodeJS.Timeout | undefined;
  #renewing = false;

  constructor(options: NodeCertificateOptions) {
    this.#options = options;
  }

  /** The identity to connect with, joining first when there is none usable. */
  async current(): Promise<NodeIdentity> {
    if (this.#identity && !this.#refused) return this.#identity;
    const { joinToken, dataDir } = this.#options;
    const saved = this.#refused ? undefined : loadIdentity(dataDir);
    if (saved && (joinToken === undefined || identityMatchesToken(saved, joinToken))) {
      return this.#use(saved);
    }
    if (joinToken === undefined) {
      throw new NoJoinTokenError(
        this.#refused
          ? 'the server no longer accepts this node\'s certificate (removed with "skiff node rm"?): start the agent with --join-token to join again'
          : `no node certificate in ${dataDir}: start the agent with --join-token (the server's DIR/join.token)`,
      );
    }
    const identity = await joinCluster({
      ...this.#options,
      serverUrl: this.#options.server(),
      token: joinToken,
    });
    this.#options.log(
      `joined the cluster: node certificate for ${this.#options.nodeName} saved in ${dataDir}`,
    );
    this.#refused = false;
    return this.#use(identity);
  }

  /** The server turned the certificate away (401 at the upgrade): join again next time. */
  refused(): void {
    this.#refused = true;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #use(identity: NodeIdentity): NodeIdentity {
    this.#identity = identity;
    if (!this.#timer) {
      const facts = certificateFacts(identity.certPem);
      this.#timer = setInterval(
        () => void this.#checkRenewal(),
        renewalCheckIntervalMs(facts.validToMs - facts.validFromMs),
      );
      this.#timer.unref();
    }
    return identity;
  }

  async #checkRenewal(): Promise<void> {
    const identity = this.#identity;
    if (!identity || this.#renewing) return;
    this.#renewing = true;
    try {
      if (Date.now() < renewalDueMs(identity) && !(await this.#caChanged(identity))) return;
      this.#identity = await renewIdentity({ ...this.#options, serverUrl: this.#options.server(), identity });
      this.#options.log(
        `renewed the node certificate (valid until ${new Date(certificateFacts(this.#identity.certPem).validToMs).toISOString()})`,
      );
    } catch (error) {
      this.#options.log(
        `renewing the node certificate: ${error instanceof Error ? error.message : String(error)} (retrying)`,
      );
    } finally {
      this.#renewing = false;
    }
  }

  /** Does the server now trust a CA bundle other than ours (a rotation began)? */
  async #caChanged(identity: NodeIdentity): Promise<boolean> {
    const answer = await httpsRequest(new URL('/ca.crt', httpsBase(this.#options.server())), {
      method: 'GET',
      trust: { ca: identity.caPem },
    });
    return answer.status === 200 && answer.text.trim() !== identity.caPem.trim();
  }
}
