import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { agentTlsOptions } from './agent-tls.ts';
import {
  CertificateRequestError,
  certificateDigest,
  certificateFacts,
  createCa,
  createNodeRequest,
  issueNodeCertificate,
  issueServingCertificate,
} from './certificates.ts';
import { formatJoinToken, JoinTokenFormatError, newJoinSecret, parseJoinToken } from './join-token.ts';
import { renewalDueAtMs } from './renewal.ts';
import { AGENT_SERVERNAME, servingNames } from './serving-names.ts';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const DAY_MS = 86_400_000;

test('the CA is a self-signed P-256 CA; serving and node certificates verify against it only', async () => {
  const ca = await createCa('cluster-1', NOW, 3650 * DAY_MS);
  const other = await createCa('cluster-2', NOW, 3650 * DAY_MS);
  const caCert = new X509Certificate(ca.certPem);
  assert.equal(caCert.ca, true);
  assert.equal(caCert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(caCert.verify(caCert.publicKey));

  const serving = await issueServingCertificate({
    ca,
    names: ['10.0.0.1', 'skiff.example'],
    now: NOW,
    lifetimeMs: 90 * DAY_MS,
  });
  const servingCert = new X509Certificate(serving.certPem);
  assert.ok(servingCert.verify(caCert.publicKey));
  assert.equal(servingCert.verify(new X509Certificate(other.certPem).publicKey), false);
  assert.equal(servingCert.ca, false);
  assert.match(servingCert.subjectAltName ?? '', /IP Address:10\.0\.0\.1/);
  assert.match(servingCert.subjectAltName ?? '', /DNS:skiff\.example/);
  assert.ok(servingCert.checkIP('10.0.0.1'));

  const request = await createNodeRequest('whatever-the-agent-says');
  const nodePem = await issueNodeCertificate({
    ca,
    nodeName: 'node-a',
    csrPem: request.csrPem,
    now: NOW,
    lifetimeMs: DAY_MS,
  });
  const nodeCert = new X509Certificate(nodePem);
  assert.ok(nodeCert.verify(caCert.publicKey));
  // The server names the node, not the request.
  assert.equal(certificateFacts(nodePem).commonName, 'node-a');
  assert.ok(
    nodeCert.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(request.keyPem))),
  );
  assert.equal(certificateFacts(nodePem).validToMs, NOW + DAY_MS - ((NOW + DAY_MS) % 1000));
});

test('a node certificate never outlives its CA', async () => {
  const ca = await createCa('c', NOW, DAY_MS);
  const request = await createNodeRequest('n');
  const pem = await issueNodeCertificate({
    ca,
    nodeName: 'n',
    csrPem: request.csrPem,
    now: NOW,
    lifetimeMs: 90 * DAY_MS,
  });
  assert.ok(certificateFacts(pem).validToMs <= certificateFacts(ca.certPem).validToMs);
});

test('a tampered or malformed certificate request is refused', async () => {
  const ca = await createCa('c', NOW, DAY_MS);
  await assert.rejects(
    issueNodeCertificate({ ca, nodeName: 'n', csrPem: 'not a request', now: NOW, lifetimeMs: DAY_MS }),
    CertificateRequestError,
  );
  // The subject changed after signing: the signature no longer covers what is asked.
  const request = await createNodeRequest('node-aaaa');
  const der = Buffer.from(request.csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = der.indexOf('node-aaaa');
  assert.ok(at > 0);
  der.write('node-bbbb', at);
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(
    issueNodeCertificate({ ca, nodeName: 'n', csrPem: tampered, now: NOW, lifetimeMs: DAY_MS }),
    CertificateRequestError,
  );
});

test('the join token carries the CA digest (SHA-256 of its DER) and round-trips', async () => {
  const ca = await createCa('c', NOW, DAY_MS);
  const digest = certificateDigest(ca.certPem);
  const der = new X509Certificate(ca.certPem).raw;
  const { createHash } = await import('node:crypto');
  assert.equal(digest, createHash('sha256').update(der).digest('hex'));
  const secret = newJoinSecret();
  const text = formatJoinToken({ caDigest: digest, secret });
  assert.match(text, /^SKIFF-1-[0-9a-f]{64}-[A-Za-z0-9_-]{32}$/);
  assert.deepEqual(parseJoinToken(`${text}\n`), { caDigest: digest, secret });
  for (const bad of [
    'skiff_join_abc',
    `SKIFF-1-${digest.slice(1)}-${secret}`,
    `SKIFF-2-${digest}-${secret}`,
    `SKIFF-1-${digest}-`,
  ]) {
    assert.throws(() => parseJoinToken(bad), JoinTokenFormatError, bad);
  }
});

test('renewal is due at two thirds of the lifetime', () => {
  assert.equal(renewalDueAtMs(0, 90), 60);
  assert.equal(renewalDueAtMs(1000, 4000), 3000);
});

test('serving names: every interface address for a wildcard listen, else the listen address; plus loopback, host name, --san, the agents’ name', () => {
  const interfaces = {
    lo: [{ address: '127.0.0.1' }],
    eth0: [{ address: '192.168.1.5' }, { address: 'fe80::1%eth0' }],
  } as unknown as Parameters<typeof servingNames>[0]['interfaces'];
  assert.deepEqual(
    servingNames({ listen: '0.0.0.0', interfaces, hostname: 'h1', extra: ['skiff.example'] }),
    ['localhost', '127.0.0.1', '::1', 'h1', '192.168.1.5', 'fe80::1', 'skiff.example', AGENT_SERVERNAME],
  );
  assert.deepEqual(servingNames({ listen: '10.0.0.9', interfaces, hostname: 'h1', extra: [] }), [
    'localhost',
    '127.0.0.1',
    '::1',
    'h1',
    '10.0.0.9',
    AGENT_SERVERNAME,
  ]);
});

test('an agent verifies the server by the agents’ name, or else by the address it dialled', async () => {
  const ca = await createCa('cluster-1', NOW, 3650 * DAY_MS);
  const pem = async (names: string[]) =>
    new X509Certificate((await issueServingCertificate({ ca, names, now: NOW, lifetimeMs: DAY_MS })).certPem);
  const peer = (cert: X509Certificate) =>
    ({ subject: {}, subjectaltname: cert.subjectAltName }) as unknown as Parameters<
      ReturnType<typeof agentTlsOptions>['checkServerIdentity']
    >[1];
  const { servername, checkServerIdentity } = agentTlsOptions(new URL('wss://10.0.0.1:8080/agent/v1'));
  assert.equal(servername, AGENT_SERVERNAME);
  assert.equal(checkServerIdentity(servername, peer(await pem([AGENT_SERVERNAME]))), undefined);
  assert.equal(
    checkServerIdentity(servername, peer(await pem(['10.0.0.1']))),
    undefined,
    'a server from before',
  );
  assert.ok(checkServerIdentity(servername, peer(await pem(['10.0.0.2', 'other.example']))) instanceof Error);
});
