/**
 * Certificates renew by themselves without a restart: a server with a 6-second certificate
 * lifetime serves a new certificate on new connections, and an agent's node certificate is
 * replaced in its data dir, both at two thirds of the lifetime (no Docker needed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { NodeCertificate } from '../src/agent/node-certificate.ts';
import { certificateFacts } from '../src/security/certificates.ts';
import { loadIdentity } from '../src/security/node-identity.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let skiff: SkiffCluster;
const agentDir = mkdtempSync(join(tmpdir(), 'skiff-renewal-agent-'));

before(async () => {
  skiff = await SkiffCluster.startServerOnly('127.0.0.1', ['--cert-lifetime', '6s']);
});
after(async () => {
  await skiff?.stop();
  rmSync(agentDir, { recursive: true, force: true });
});

function servedSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: skiff.port, ca: skiff.caPem(), servername: 'localhost' },
      () => {
        resolve(socket.getPeerCertificate().serialNumber.toLowerCase());
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

test('the serving certificate is renewed while the server runs', async () => {
  const first = await servedSerial();
  const renewed = await eventually(
    'a new serving certificate',
    async () => {
      const serial = await servedSerial();
      return serial !== first && serial;
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  assert.notEqual(renewed, first);
});

test("the agent's node certificate is renewed before it expires, with the old one still its own", async () => {
  const logs: string[] = [];
  const certificate = new NodeCertificate({
    server: () => skiff.url,
    joinToken: skiff.joinToken,
    nodeName: 'node-renew',
    dataDir: agentDir,
    log: (line) => logs.push(line),
  });
  try {
    const joined = await certificate.current();
    const firstSerial = certificateFacts(joined.certPem).serial;
    const renewed = await eventually(
      'a renewed node certificate on disk',
      () => {
        const saved = loadIdentity(agentDir);
        return saved && certificateFacts(saved.certPem).serial !== firstSerial && saved;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    assert.ok(certificateFacts(renewed.certPem).validToMs > certificateFacts(joined.certPem).validToMs);
    assert.equal((await certificate.current()).certPem, renewed.certPem);
    assert.ok(
      logs.some((line) => line.startsWith('renewed the node certificate')),
      logs.join('\n'),
    );
  } finally {
    certificate.stop();
  }
});
