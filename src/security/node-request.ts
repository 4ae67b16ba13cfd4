/**
 * A node's key and certificate request (PKCS#10), made with node:crypto alone: an ECDSA P-256
 * key, and a request whose subject is `CN=<node name>`, signed with it (ECDSA with SHA-256), as
 * certificates.ts's `createNodeRequest` makes it with @peculiar/x509. The agent joins and renews
 * with this one: the issuing library and its ASN.1 schemas (about 200 modules, 4 MB of heap) stay
 * out of every agent, the one that joined included (README: the agent's footprint). The server
 * reads and verifies the request with @peculiar/x509 (certificates.ts) as before.
 */
import { generateKeyPairSync, sign } from 'node:crypto';

/** DER: a tag and its contents, with the length in short or long form. */
function der(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const length = body.length;
  let head: Buffer;
  if (length < 0x80) head = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
    head = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([head, body]);
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID_COMMON_NAME = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]); // 2.5.4.3
const OID_ECDSA_WITH_SHA256 = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]); // 1.2.840.10045.4.3.2

/** The DER request for `CN=<commonName>` over the public key `spki` (DER), signed by `signDer`. */
export function certificationRequestDer(
  commonName: string,
  spki: Buffer,
  signDer: (info: Buffer) => Buffer,
): Buffer {
  const subject = der(
    SEQUENCE,
    der(SET, der(SEQUENCE, OID_COMMON_NAME, der(0x0c, Buffer.from(commonName, 'utf8')))),
  );
  const info = der(
    SEQUENCE,
    Buffer.from([0x02, 0x01, 0x00]), // version 0
    subject,
    spki,
    Buffer.from([0xa0, 0x00]), // attributes [0]: none
  );
  const signature = signDer(info);
  return der(SEQUENCE, info, der(SEQUENCE, OID_ECDSA_WITH_SHA256), der(0x03, Buffer.from([0x00]), signature));
}

function pem(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A node's key and certificate request, made on the node: its private key never leaves it. */
export function createNodeRequest(nodeName: string): { keyPem: string; csrPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const request = certificationRequestDer(nodeName, spki, (info) =>
    sign('sha256', info, { key: privateKey, dsaEncoding: 'der' }),
  );
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    csrPem: pem('CERTIFICATE REQUEST', request),
  };
}
