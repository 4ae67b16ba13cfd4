/**
 * How an agent verifies the server: against the cluster CA bundle it fetched and checked against
 * its join token's digest (never the system's CAs), asking by SNI for `AGENT_SERVERNAME`, which
 * the cluster's own serving certificate carries. So an operator's certificate for people
 * (`--tls-cert`) changes nothing for agents. A server from before that name was in its
 * certificate is still verified by the address the agent dialled.
 */
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { AGENT_SERVERNAME } from './serving-names.ts';

export interface AgentTlsOptions {
  readonly servername: string;
  readonly checkServerIdentity: (servername: string, cert: PeerCertificate) => Error | undefined;
}

/** The TLS options of an agent's connection to `url` (beside `ca`, and its key and certificate). */
export function agentTlsOptions(url: URL): AgentTlsOptions {
  const dialled = url.hostname.replace(/^\[|\]$/g, '');
  return {
    servername: AGENT_SERVERNAME,
    checkServerIdentity: (_servername, cert) =>
      checkServerIdentity(AGENT_SERVERNAME, cert) === undefined
        ? undefined
        : checkServerIdentity(dialled, cert),
  };
}
