/**
 * The CLI trusts the cluster CA for https: added to Node's default CAs for this process, so the
 * global fetch verifies the server against it (and still against the system's CAs, for a server
 * given an operator's certificate). Verification is never turned off.
 */
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { splitPemBundle } from '../security/pem.ts';

export function trustClusterCa(bundlePem: string): void {
  setDefaultCACertificates([...getCACertificates('default'), ...splitPemBundle(bundlePem)]);
}
