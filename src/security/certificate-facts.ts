/**
 * What a certificate says, read with node:crypto alone: its digest (what a join token pins), its
 * common name, serial and validity. Apart from certificates.ts because the agent reads its node
 * certificate on every start, and @peculiar/x509 (issuing) costs 150–250 ms of module loading,
 * several times that on a loaded host, and 4 MB of heap: the agent never loads it (its requests,
 * to join or renew, are node-request.ts's).
 */
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';

/** The SHA-256 of a certificate's DER encoding, lower-case hex: what a join token pins. */
export function certificateDigest(certPem: string): string {
  return createHash('sha256').update(new NodeX509(certPem).raw).digest('hex');
}

export interface CertificateFacts {
  readonly commonName: string | undefined;
  readonly serial: string;
  readonly validFromMs: number;
  readonly validToMs: number;
}

export function certificateFacts(certPem: string): CertificateFacts {
  const cert = new NodeX509(certPem);
  return {
    commonName: commonNameOf(cert.subject),
    serial: cert.serialNumber.toLowerCase(),
    validFromMs: Date.parse(cert.validFrom),
    validToMs: Date.parse(cert.validTo),
  };
}

/** `CN=` of a subject as node:crypto prints it (one `key=value` a line). */
export function commonNameOf(subject: string): string | undefined {
  return subject
    .split('\n')
    .map((line) => line.match(/^CN=(.*)$/)?.[1])
    .find((cn) => cn !== undefined);
}
