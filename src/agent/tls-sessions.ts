/**
 * What the agent keeps between its dials to make a reconnect cheap: one TLS secure context per
 * node identity (its key, certificate and trusted CAs parsed once, not on every dial), and the
 * last TLS session each server gave it, so a redial resumes that session (TLS 1.3 session
 * tickets: no certificates sent or verified again, one round trip, a fraction of a full
 * handshake's CPU on both sides) instead of a full mutual-TLS handshake.
 *
 * A resumed session carries the certificates of the handshake it came from, so sessions are
 * only ever kept for the identity they were made with: a renewed certificate or a new CA bundle
 * starts afresh with full handshakes.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { NodeIdentity } from '../security/node-identity.ts';

/** Servers an agent keeps a session for (its `--server` list, and a leader it was sent to). */
const MAX_SERVERS = 16;

export interface AgentTls {
  readonly context: SecureContext;
  /** The session to resume with `server` (host:port), if it gave one. */
  session(server: string): Buffer | undefined;
  remember(server: string, session: Buffer): void;
  /** The server refused or failed the session: the next dial makes a full handshake. */
  forget(server: string): void;
}

export class AgentTlsSessions {
  #identity: NodeIdentity | undefined;
  #current: AgentTls | undefined;

  /** The context and sessions of `identity` (the same object as long as the identity is). */
  for(identity: NodeIdentity): AgentTls {
    const same =
      this.#identity !== undefined &&
      this.#identity.keyPem === identity.keyPem &&
      this.#identity.certPem === identity.certPem &&
      this.#identity.caPem === identity.caPem;
    if (same && this.#current) return this.#current;
    const context = createSecureContext({ key: identity.keyPem, cert: identity.certPem, ca: identity.caPem });
    const sessions = new Map<string, Buffer>();
    this.#identity = identity;
    this.#current = {
      context,
      session: (server) => sessions.get(server),
      remember: (server, session) => {
        sessions.delete(server);
        sessions.set(server, session);
        for (const oldest of sessions.keys()) {
          if (sessions.size <= MAX_SERVERS) break;
          sessions.delete(oldest);
        }
      },
      forget: (server) => {
        sessions.delete(server);
      },
    };
    return this.#current;
  }
}
