import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { certificateFacts, createCa, issueNodeCertificate } from './certificates.ts';
import { createNodeRequest } from './node-request.ts';

const NOW = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;

test('the request made with node:crypto is one the server reads, verifies and certifies', async () => {
  const request = createNodeRequest('node-aaaa');
  assert.match(
    request.csrPem,
    /^-----BEGIN CERTIFICATE REQUEST-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE REQUEST-----\n$/,
  );
  assert.match(request.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  const csr = new x509.Pkcs10CertificateRequest(request.csrPem);
  assert.equal(csr.subject, 'CN=node-aaaa');
  assert.ok(await csr.verify());
  // Its public key is the one of the private key that stays on the node.
  const publicDer = Buffer.from(csr.publicKey.rawData);
  assert.deepEqual(
    publicDer,
    createPublicKey(createPrivateKey(request.keyPem)).export({ type: 'spki', format: 'der' }),
  );

  const ca = await createCa('cluster-1', NOW, 365 * DAY_MS);
  const certPem = await issueNodeCertificate({
    ca,
    nodeName: 'node-b',
    csrPem: request.csrPem,
    now: NOW,
    lifetimeMs: DAY_MS,
  });
  const cert = new X509Certificate(certPem);
  assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
  assert.ok(cert.checkPrivateKey(createPrivateKey(request.keyPem)));
  assert.equal(certificateFacts(certPem).commonName, 'node-b');
});

test('a request whose signature does not match is refused by the server', async () => {
  const request = createNodeRequest('n1');
  const der = Buffer.from(request.csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  // The subject's last byte (the name's), inside the signed part: the signature no longer matches.
  const at = der.indexOf(Buffer.from('n1'));
  der[at + 1] = '2'.charCodeAt(0);
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const ca = await createCa('cluster-1', NOW, 365 * DAY_MS);
  await assert.rejects(
    issueNodeCertificate({ ca, nodeName: 'n1', csrPem: tampered, now: NOW, lifetimeMs: DAY_MS }),
    /signature is invalid/,
  );
});

test('names of any length and in UTF-8 (DER long-form lengths)', async () => {
  for (const name of ['a', 'x'.repeat(64), 'nœud-é', 'y'.repeat(200)]) {
    const csr = new x509.Pkcs10CertificateRequest(createNodeRequest(name).csrPem);
    assert.equal(csr.subject, `CN=${name}`);
    assert.ok(await csr.verify());
  }
});
