import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCa, createNodeRequest, issueNodeCertificate } from '../security/certificates.ts';
import { AgentTlsSessions } from './tls-sessions.ts';

test('one context and one session store per identity; a renewed certificate starts afresh', async () => {
  const now = Date.now();
  const ca = await createCa('c', now, 86_400_000);
  const request = await createNodeRequest('n1');
  const issue = () =>
    issueNodeCertificate({ ca, csrPem: request.csrPem, nodeName: 'n1', now, lifetimeMs: 86_400_000 });
  const identity = { keyPem: request.keyPem, certPem: await issue(), caPem: ca.certPem };
  const sessions = new AgentTlsSessions();
  const tls = sessions.for(identity);
  assert.equal(sessions.for({ ...identity }), tls, 'the same identity, the same context');
  tls.remember('10.0.0.1:8080', Buffer.from('s1'));
  assert.deepEqual(tls.session('10.0.0.1:8080'), Buffer.from('s1'));
  tls.forget('10.0.0.1:8080');
  assert.equal(tls.session('10.0.0.1:8080'), undefined);
  tls.remember('10.0.0.1:8080', Buffer.from('s2'));
  for (let i = 0; i < 40; i++) tls.remember(`10.0.1.${i}:8080`, Buffer.from('x'));
  assert.equal(tls.session('10.0.0.1:8080'), undefined, 'at most a few servers are kept');
  assert.deepEqual(tls.session('10.0.1.39:8080'), Buffer.from('x'));

  const renewed = sessions.for({ ...identity, certPem: await issue() });
  assert.notEqual(renewed, tls);
  assert.equal(
    renewed.session('10.0.1.39:8080'),
    undefined,
    'a session of the old certificate is not reused',
  );
});
