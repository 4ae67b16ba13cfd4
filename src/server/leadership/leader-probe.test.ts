import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { test } from 'node:test';
import { createCa, issueServingCertificate } from '../../security/certificates.ts';
import { LEADING_PATH, probeLeader, probeVerdict } from './leader-probe.ts';

test('only a refused connection or the server saying so ends a lease; silence and odd answers do not', () => {
  assert.equal(probeVerdict({ kind: 'error', code: 'ECONNREFUSED', message: 'refused' }).kind, 'gone');
  for (const code of ['ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', undefined])
    assert.equal(probeVerdict({ kind: 'error', code, message: 'x' }).kind, 'unknown');
  assert.deepEqual(probeVerdict({ kind: 'answer', status: 200, body: { leading: false, lease: null } }), {
    kind: 'not-leading',
  });
  assert.deepEqual(probeVerdict({ kind: 'answer', status: 200, body: { leading: true, lease: '42' } }), {
    kind: 'leading',
    lease: '42',
  });
  assert.equal(
    probeVerdict({ kind: 'answer', status: 503, body: { leading: false, lease: null } }).kind,
    'unknown',
  );
  assert.equal(probeVerdict({ kind: 'answer', status: 200, body: { status: 'ok' } }).kind, 'unknown');
  assert.equal(probeVerdict({ kind: 'answer', status: 200, body: undefined }).kind, 'unknown');
});

test('probing a real port: refused is gone, an answer over TLS verified by the CA is read, silence is unknown', async () => {
  const now = Date.now();
  const ca = await createCa('probe-test', now, 86_400_000);
  const serving = await issueServingCertificate({ ca, names: ['127.0.0.1'], now, lifetimeMs: 86_400_000 });
  const leading = createServer({ key: serving.keyPem, cert: serving.certPem }, (request, response) => {
    assert.equal(request.url, LEADING_PATH);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ leading: true, lease: '7' }));
  });
  // Accepts connections and never answers (a paused process: the kernel still completes TCP).
  const silent = createNetServer(() => {});
  const closed = createNetServer();
  const listen = (server: {
    listen: (port: number, host: string, done: () => void) => unknown;
    address: () => unknown;
  }) =>
    new Promise<number>((done) =>
      server.listen(0, '127.0.0.1', () => done((server.address() as { port: number }).port)),
    );
  const [leadingPort, silentPort, closedPort] = [
    await listen(leading),
    await listen(silent),
    await listen(closed),
  ];
  await new Promise((done) => closed.close(done));
  try {
    assert.deepEqual(await probeLeader(`https://127.0.0.1:${leadingPort}`, ca.certPem), {
      kind: 'leading',
      lease: '7',
    });
    assert.equal((await probeLeader(`https://127.0.0.1:${closedPort}`, ca.certPem)).kind, 'gone');
    const started = Date.now();
    assert.equal((await probeLeader(`https://127.0.0.1:${silentPort}`, ca.certPem, 300)).kind, 'unknown');
    assert.ok(Date.now() - started < 2000, 'a silent server is given up on at the timeout');
    // Another CA's server is not believed.
    const other = await createCa('other', now, 86_400_000);
    assert.equal((await probeLeader(`https://127.0.0.1:${leadingPort}`, other.certPem)).kind, 'unknown');
  } finally {
    leading.closeAllConnections();
    leading.close();
    silent.close();
  }
});
