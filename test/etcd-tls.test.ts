/**
 * The store over TLS to etcd (`--etcd-ca`, `--etcd-cert`, `--etcd-key`): etcd serving its client
 * port with a certificate from a test CA and requiring client certificates; the store opened with
 * the files writes and reads, and one without a client certificate is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EtcdStore } from '../src/store/etcd/etcd-store.ts';
import { openStore, parseStoreUrl } from '../src/store/store-url.ts';
import type { EtcdCluster, EtcdTestTls } from './support/etcd.ts';
import { startEtcdCluster } from './support/etcd.ts';

let etcd: EtcdCluster;
let dir: string;
let tls: EtcdTestTls;

/** A test CA, a server certificate for 127.0.0.1 and a client certificate, by openssl. */
function makeCertificates(into: string): EtcdTestTls {
  const at = (name: string) => join(into, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const key = (name: string) => ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at(name));
  key('ca.key');
  ssl(
    'req',
    '-x509',
    '-new',
    '-key',
    at('ca.key'),
    '-subj',
    '/CN=skiff test etcd CA',
    '-days',
    '2',
    '-out',
    at('ca.crt'),
  );
  const issue = (name: string, subject: string, extensions: string) => {
    key(`${name}.key`);
    ssl('req', '-new', '-key', at(`${name}.key`), '-subj', subject, '-out', at(`${name}.csr`));
    writeFileSync(at(`${name}.ext`), extensions);
    ssl(
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      at(`${name}.ext`),
      '-out',
      at(`${name}.crt`),
    );
  };
  issue('server', '/CN=etcd', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  issue('client', '/CN=skiff', 'extendedKeyUsage=clientAuth\n');
  return {
    certFile: at('server.crt'),
    keyFile: at('server.key'),
    caFile: at('ca.crt'),
    clientCertFile: at('client.crt'),
    clientKeyFile: at('client.key'),
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-etcd-tls-'));
  tls = makeCertificates(dir);
  etcd = await startEtcdCluster(1, [], tls);
});
after(async () => {
  await etcd?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('over TLS with a client certificate the store works; without one etcd refuses it', async () => {
  const hostPort = etcd.endpoints[0]?.replace(/^https:\/\//, '') ?? '';
  const location = parseStoreUrl(`etcd://${hostPort}/tls`, {
    caFile: tls.caFile,
    certFile: tls.clientCertFile,
    keyFile: tls.clientKeyFile,
  });
  const store = await openStore(location, () => {});
  try {
    store.setMeta('over', 'tls');
    await store.durable();
    assert.equal(store.getMeta('over'), 'tls');
    assert.match(store.health().location, /^etcd:\/\/127\.0\.0\.1:\d+\/tls$/);
  } finally {
    await store.close();
  }
  await assert.rejects(
    EtcdStore.open({
      endpoints: etcd.endpoints,
      prefix: '/tls',
      tls: { caFile: tls.caFile },
      compactEveryMs: 0,
      alarmCheckMs: 0,
      writeDeadlineMs: 1000,
    }),
    /cannot load the cluster state/,
  );
});
