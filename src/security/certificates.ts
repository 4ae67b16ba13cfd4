/**
 * Certificates of the cluster: the CA (ECDSA P-256, self-signed, long-lived), the server's
 * serving certificate and node certificates (the node's name is the subject's CN). Keys and
 * certificates travel as PEM text; issuing takes `now` so tests control validity.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

// Reading certificates needs none of this (certificate-facts.ts); only issuing and requesting do.
export {
  type CertificateFacts,
  certificateDigest,
  certificateFacts,
  commonNameOf,
} from './certificate-facts.ts';
// The node's request is made with node:crypto alone (node-request.ts): the agent never loads this file.
export { createNodeRequest } from './node-request.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
/**
 * Certificates start a little in the past, so a peer whose clock is slightly behind accepts them;
 * a tenth of the lifetime at most, so renewal at two thirds still comes after issue.
 */
const backdateMs = (lifetimeMs: number) => Math.min(5 * 60_000, Math.floor(lifetimeMs / 10));

export interface KeyAndCertificate {
  readonly keyPem: string;
  readonly certPem: string;
}

export class CertificateRequestError extends Error {
  override readonly name = 'CertificateRequestError';
}

export async function createCa(
  clusterId: string,
  now: number,
  lifetimeMs: number,
): Promise<KeyAndCertificate> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    // The time keeps two CAs of one cluster (before and after a rotation) apart by name.
    name: `CN=skiff cluster CA ${new Date(now).toISOString()}, O=skiff ${clusterId}`,
    notBefore: new Date(now - backdateMs(lifetimeMs)),
    notAfter: new Date(now + lifetimeMs),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      // Path length 1: during a CA rotation the next CA, cross-signed by this one, sits between.
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keyPem: await privateKeyPem(keys.privateKey), certPem: cert.toString('pem') };
}

export interface ServingRequest {
  readonly ca: KeyAndCertificate;
  /** Host names and IP addresses clients may dial. */
  readonly names: readonly string[];
  readonly now: number;
  readonly lifetimeMs: number;
}

export async function issueServingCertificate(request: ServingRequest): Promise<KeyAndCertificate> {
  const keys = await generateKeys();
  const certPem = await issue(request.ca, keys.publicKey, {
    subject: 'CN=skiff server',
    now: request.now,
    lifetimeMs: request.lifetimeMs,
    usage: x509.ExtendedKeyUsage.serverAuth,
    sans: request.names,
  });
  return { keyPem: await privateKeyPem(keys.privateKey), certPem };
}

export interface NodeIssue {
  readonly ca: KeyAndCertificate;
  readonly nodeName: string;
  readonly csrPem: string;
  readonly now: number;
  readonly lifetimeMs: number;
}

/** Signs a node's request, naming the node the server decided on (not whatever the request says). */
export async function issueNodeCertificate(request: NodeIssue): Promise<string> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(request.csrPem);
  } catch {
    throw new CertificateRequestError('the certificate request is not a PEM PKCS#10 request');
  }
  // Proof that the requester holds the private key of the public key it asks to be certified.
  if (!(await csr.verify()))
    throw new CertificateRequestError('the certificate request signature is invalid');
  return await issue(request.ca, csr.publicKey, {
    subject: `CN=${request.nodeName}, OU=skiff node`,
    now: request.now,
    lifetimeMs: request.lifetimeMs,
    usage: x509.ExtendedKeyUsage.clientAuth,
    sans: [],
  });
}

interface IssueSettings {
  readonly subject: string;
  readonly now: number;
  readonly lifetimeMs: number;
  readonly usage: string;
  readonly sans: readonly string[];
}

async function issue(
  ca: KeyAndCertificate,
  publicKey: x509.PublicKey | CryptoKey,
  settings: IssueSettings,
): Promise<string> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([settings.usage], false),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (settings.sans.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        settings.sans.map((name) => ({ type: isIP(name) ? 'ip' : 'dns', value: name })),
      ),
    );
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: settings.subject,
    issuer: caCert.subject,
    notBefore: new Date(settings.now - backdateMs(settings.lifetimeMs)),
    // Never beyond the CA: a certificate outliving its issuer would fail verification early.
    notAfter: new Date(Math.min(settings.now + settings.lifetimeMs, caCert.notAfter.getTime())),
    publicKey,
    signingKey: await importPrivateKey(ca.keyPem),
    signingAlgorithm: SIGNING,
    extensions,
  });
  return cert.toString('pem');
}

/**
 * The next CA's certificate signed by the current CA: served after the leaf during a rotation,
 * so clients that still trust only the current CA verify certificates of the next one.
 */
export async function crossSignCa(
  current: KeyAndCertificate,
  nextCertPem: string,
  now: number,
): Promise<string> {
  const currentCert = new x509.X509Certificate(current.certPem);
  const next = new x509.X509Certificate(nextCertPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: next.subject,
    issuer: currentCert.subject,
    notBefore: new Date(now - backdateMs(next.notAfter.getTime() - now)),
    notAfter: new Date(Math.min(next.notAfter.getTime(), currentCert.notAfter.getTime())),
    publicKey: next.publicKey,
    signingKey: await importPrivateKey(current.keyPem),
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(next.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(currentCert.publicKey),
    ],
  });
  return cert.toString('pem');
}

function serial(): string {
  // Positive (high bit clear) and 16 bytes: unpredictable, as the CA/Browser rules ask.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${body}${body.endsWith('\n') ? '' : '\n'}-----END PRIVATE KEY-----\n`;
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}
