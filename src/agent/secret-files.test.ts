/**
 * Secret files on an agent whose engine is on another host: it refuses them with the reason, and
 * does not offer them in its hello, so the server places replicas that use them elsewhere (or
 * leaves them pending, naming the feature).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createFixture } from '../api/test-fixture.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import { AGENT_FEATURES, FEATURES } from '../protocol/features.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { offeredFeatures } from './agent.ts';
import { SecretFileWriter, SecretsUnavailableError, secretsRefusal } from './secret-files.ts';

const REMOTE = 'tcp+tls://10.0.0.5:2376';

function task(withSecret: boolean): TaskSpec {
  return {
    task_id: 't1',
    service: 'web',
    slot: 0,
    revision: 1,
    spec: serviceSpecSchema.parse({
      name: 'web',
      image: 'skiff-demo:v1',
      ...(withSecret ? { secrets: [{ name: 'key', version: 1 }] } : {}),
    }),
    networks: [{ name: 'default', index: 0 }],
    secret_files: withSecret
      ? [{ kind: 'secret', name: 'key', target: '/run/secrets/key', mode: 0o400, data: 'c2VjcmV0' }]
      : [],
  } as TaskSpec;
}

test('an engine on this host can mount secret files; one on another host cannot, and says why', () => {
  assert.equal(secretsRefusal('unix:///var/run/docker.sock'), undefined);
  assert.equal(secretsRefusal('tcp://127.0.0.1:2375'), undefined);
  const reason = secretsRefusal(REMOTE) ?? '';
  assert.match(reason, /secrets and configs are not offered by this node/);
  assert.match(reason, /tcp\+tls:\/\/10\.0\.0\.5:2376\) is on another host/);
  assert.match(reason, /run the agent on the engine's host/);
});

test('the writer of such an agent refuses a task with secrets, writing nothing, and passes one without', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-secret-files-'));
  try {
    const writer = new SecretFileWriter(join(dir, 'secrets'), secretsRefusal(REMOTE));
    assert.throws(
      () => writer.prepare(task(true)),
      (error: unknown) => error instanceof SecretsUnavailableError && /on another host/.test(error.message),
    );
    assert.equal(existsSync(join(dir, 'secrets')), false, 'no file and no tmpfs on this host');
    assert.deepEqual(writer.prepare(task(false)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('its hello leaves secret files out, and the server keeps replicas that use them off the node', async () => {
  assert.deepEqual(offeredFeatures(undefined), [...AGENT_FEATURES]);
  const offered = offeredFeatures(secretsRefusal(REMOTE));
  assert.equal(offered.includes(FEATURES.secretFiles), false);
  assert.equal(offered.length, AGENT_FEATURES.length - 1);

  const f = createFixture();
  try {
    const node = f.connectNode('remote-engine', { features: offered });
    await f.call('POST', '/api/secrets', { name: 'key', data: Buffer.from('secret').toString('base64') });
    const res = await f.call('POST', '/api/deploy', {
      name: 'web',
      image: 'skiff-demo:v1',
      secrets: [{ name: 'key' }],
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(node.lastAssign()?.tasks ?? [], []);
    assert.match(JSON.stringify(res.body), /secret-files/);
    const plain = await f.call('POST', '/api/deploy', { name: 'plain', image: 'skiff-demo:v1' });
    assert.equal(plain.status, 201, plain.text);
    assert.deepEqual(
      node.lastAssign()?.tasks.map((t) => t.service),
      ['plain'],
      'the node still runs what needs no secrets',
    );
  } finally {
    f.close();
  }
});
