/**
 * A CA rotation on one server of an HA control plane reaches the others without a restart: two
 * real servers on a real etcd (no agents, no Docker); `POST /api/ca/rotate` on one, and the other
 * serves the new bundle at /ca.crt, writes it to its own data dir with the reissued join token,
 * and serves a certificate of the new CA, cross-signed by the old one so that a client holding
 * only the old CA still verifies it. A dashboard session signed in on one server holds on the
 * other, and signing out on either ends it on both.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { sharedEtcdEndpoints, testPrefix } from './support/etcd.ts';
import { eventually } from './support/eventually.ts';
import { HaServers } from './support/ha-servers.ts';

let ha: HaServers;

before(async () => {
  ha = await HaServers.start({
    count: 2,
    host: '127.0.0.1',
    etcdEndpoints: await sharedEtcdEndpoints(),
    prefix: testPrefix('ha-shared-state'),
  });
});

after(async () => {
  if (process.exitCode) console.error(ha?.output.slice(-40).join('\n'));
  await ha?.stop();
});

const pems = (bundle: string) =>
  bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];

/** The certificates a server presents, leaf first, verified against `ca` alone. */
function servedChain(port: number, ca: string): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const chain: X509Certificate[] = [];
      let cert = socket.getPeerX509Certificate();
      while (cert && !chain.some((c) => c.fingerprint256 === cert?.fingerprint256)) {
        chain.push(cert);
        cert = cert.issuerCertificate;
      }
      socket.end();
      resolve(chain);
    });
    socket.once('error', reject);
  });
}

test('a rotation on one server reaches the other: its bundle, files, join token and serving certificate', async () => {
  const [first, second] = ha.servers;
  assert.ok(first && second);
  const oldCa = readFileSync(join(second.dataDir, 'ca.crt'), 'utf8');
  assert.equal(pems(oldCa).length, 1);

  const rotated = await ha.api(first.index, 'POST', '/api/ca/rotate', {});
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const newToken = (rotated.body as { join_token: string }).join_token;
  const [newCa] = pems(readFileSync(join(first.dataDir, 'ca.crt'), 'utf8'));
  assert.ok(newCa);

  const bundle = await eventually(
    'the other server serving the new bundle',
    async () => {
      const response = await fetch(`${second.url}/ca.crt`);
      const text = await response.text();
      return pems(text)[0] === newCa ? text : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  assert.deepEqual(pems(bundle), [newCa, pems(oldCa)[0]]);
  await eventually(
    'its files and join token',
    async () =>
      readFileSync(join(second.dataDir, 'ca.crt'), 'utf8') ===
        readFileSync(join(first.dataDir, 'ca.crt'), 'utf8') &&
      readFileSync(join(second.dataDir, 'join.token'), 'utf8').trim() === newToken,
    { timeoutMs: 15_000, intervalMs: 200 },
  );

  // Its serving certificate is now the new CA's, with the new CA cross-signed by the old behind
  // it: a client that trusts only the old CA verifies it, and so does one with the new alone.
  const newCaCert = new X509Certificate(newCa);
  const chain = await eventually(
    'a serving certificate of the new CA',
    async () => {
      const served = await servedChain(second.port, oldCa);
      return served[0]?.checkIssued(newCaCert) ? served : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200 },
  );
  assert.ok(chain.length >= 2, 'the leaf and the cross-signed CA');
  const viaNew = await servedChain(second.port, newCa);
  assert.ok(viaNew[0]?.checkIssued(newCaCert));
});

test('a dashboard session signed in on one server is valid on the other, and signing out ends it on both', async () => {
  const [first, second] = ha.servers;
  assert.ok(first && second);
  const created = await ha.api(first.index, 'POST', '/api/tokens', { name: 'dash-ha', role: 'viewer' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const token = (created.body as { token: string }).token;
  const request = (url: string, method: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${url}/api/session`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const signIn = await request(second.url, 'POST', {}, { token });
  assert.equal(signIn.status, 201, await signIn.clone().text());
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const csrf = ((await signIn.json()) as { csrf_token: string }).csrf_token;
  assert.match(cookie, /^skiff_session=/);
  for (const server of [first, second]) {
    const answer = await request(server.url, 'GET', { cookie });
    const text = await answer.text();
    assert.equal(answer.status, 200, `${server.url}: ${text}`);
    assert.equal((JSON.parse(text) as { name: string }).name, 'dash-ha');
  }

  const signOut = await request(first.url, 'DELETE', { cookie, 'x-csrf-token': csrf });
  assert.equal(signOut.status, 200);
  await eventually(
    'the session refused on both servers',
    async () => {
      const statuses = await Promise.all(
        [first, second].map(async (s) => (await request(s.url, 'GET', { cookie })).status),
      );
      return statuses.every((status) => status === 401);
    },
    { timeoutMs: 10_000, intervalMs: 200 },
  );
});
