/**
 * Sealing, the secret store and the agent's files: values round-trip only under the right key and
 * name, the database holds no plaintext, versions move only when a value changes, and the agent
 * writes files with the modes asked for, refuses without values, and keeps none on disk.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SecretFileWriter, SecretsUnavailableError, withoutSecretValues } from '../agent/secret-files.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import type { TaskSpec } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { ensureClusterKey } from './cluster-key.ts';
import { open, SealedBoxError, seal } from './sealed-box.ts';
import { missingRefs, secretFiles, withVersions } from './secret-refs.ts';
import { SecretStore } from './secret-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'skiff-secrets-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('sealed box', () => {
  const key = randomBytes(32);
  test('opens with the key and name it was sealed with, and nothing else', () => {
    const sealed = seal(key, Buffer.from('hunter2'), 'secret:db');
    assert.equal(open(key, sealed, 'secret:db').toString(), 'hunter2');
    assert.notEqual(seal(key, Buffer.from('hunter2'), 'secret:db'), sealed, 'a fresh IV each time');
    assert.throws(() => open(randomBytes(32), sealed, 'secret:db'), SealedBoxError);
    assert.throws(() => open(key, sealed, 'secret:other'), SealedBoxError);
    const tampered = Buffer.from(sealed, 'base64');
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 1;
    assert.throws(() => open(key, tampered.toString('base64'), 'secret:db'), SealedBoxError);
  });
  test('the cluster key is made once, mode 0600, and read back', () => {
    const first = ensureClusterKey(dir);
    assert.equal(first.length, 32);
    assert.deepEqual(ensureClusterKey(dir), first);
    assert.equal(statSync(join(dir, 'cluster.key')).mode & 0o777, 0o600);
  });
});

describe('secret store', () => {
  const path = join(dir, 'skiff.db');
  const store = new SqliteStore(path);
  const secrets = new SecretStore(store, randomBytes(32));
  after(() => store.close());
  const VALUE = 'correct-horse-battery-staple-4f1e';

  test('versions move only when the value changes; values are not in the database file in clear', () => {
    const created = secrets.put('secret', 'db-password', Buffer.from(VALUE), 1000);
    assert.deepEqual([created.created, created.changed, created.entry.version], [true, true, 1]);
    const same = secrets.put('secret', 'db-password', Buffer.from(VALUE), 2000);
    assert.deepEqual([same.created, same.changed, same.entry.version], [false, false, 1]);
    const updated = secrets.put('secret', 'db-password', Buffer.from(`${VALUE}-2`), 3000);
    assert.deepEqual([updated.changed, updated.entry.version, updated.entry.created_at], [true, 2, 1000]);
    assert.equal(secrets.value('secret', 'db-password')?.toString(), `${VALUE}-2`);
    assert.equal(secrets.list('secret')[0]?.digest, null, 'no digest of a secret');
    secrets.put('config', 'nginx.conf', Buffer.from('server {}'), 1000);
    assert.match(secrets.list('config')[0]?.digest ?? '', /^[0-9a-f]{12}$/);
    for (const file of readdirSync(dir).filter((f) => f.startsWith('skiff.db'))) {
      assert.ok(!readFileSync(join(dir, file)).includes(VALUE), `${file} holds the value in clear`);
    }
    assert.equal(secrets.remove('secret', 'db-password'), true);
    assert.equal(secrets.value('secret', 'db-password'), undefined);
    assert.equal(secrets.remove('secret', 'db-password'), false);
  });

  test('references: missing ones named, versions stamped, files built with defaults', () => {
    secrets.put('secret', 'api-key', Buffer.from('k'), 1);
    const spec = serviceSpecSchema.parse({
      name: 'web',
      image: 'i',
      secrets: [{ name: 'api-key' }, { name: 'nope', target: 'x' }],
      configs: [{ name: 'nginx.conf', target: '/etc/nginx/nginx.conf', mode: '0444' }],
    });
    assert.deepEqual(missingRefs(secrets, spec), [
      'secrets.1.name: no secret nope (create it with: skiff secret create nope -f FILE)',
    ]);
    const stamped = withVersions(secrets, spec);
    assert.deepEqual(
      stamped.secrets?.map((s) => s.version),
      [1, 0],
    );
    assert.deepEqual(
      secretFiles(secrets, stamped).map((f) => [
        f.kind,
        f.target,
        f.mode.toString(8),
        Buffer.from(f.data, 'base64').toString(),
      ]),
      [
        ['secret', '/run/secrets/api-key', '400', 'k'],
        ['config', '/etc/nginx/nginx.conf', '444', 'server {}'],
      ],
    );
  });
});

describe('the agent’s secret files', () => {
  // /dev/shm is a tmpfs, as the writer requires.
  const base = mkdtempSync('/dev/shm/skiff-secret-files-');
  after(() => rmSync(base, { recursive: true, force: true }));
  const task = (withValues: boolean): TaskSpec => ({
    task_id: 'task1',
    service: 'web',
    slot: 0,
    revision: 1,
    spec: serviceSpecSchema.parse({
      name: 'web',
      image: 'i',
      secrets: [{ name: 'db', mode: 0o440 }],
      user: '1234:5678',
    }),
    networks: [{ name: 'default', index: 0 }],
    ...(withValues
      ? {
          secret_files: [
            {
              kind: 'secret' as const,
              name: 'db',
              target: '/run/secrets/db',
              mode: 0o440,
              data: Buffer.from('s3cret').toString('base64'),
            },
          ],
        }
      : {}),
  });

  test('written per task with the mode and owner asked for, bound read-only, removed on release', () => {
    const writer = new SecretFileWriter(base);
    const [bind] = writer.prepare(task(true));
    const [host, target, ro] = (bind ?? '').split(':');
    assert.equal(target, '/run/secrets/db');
    assert.equal(ro, 'ro');
    assert.equal(readFileSync(host ?? '').toString(), 's3cret');
    const stat = statSync(host ?? '');
    assert.equal(stat.mode & 0o777, 0o440);
    assert.deepEqual([stat.uid, stat.gid], [1234, 5678]);
    assert.equal(statSync(join(base, 'tasks', 'task1')).mode & 0o777, 0o700);
    writer.release('task1');
    assert.throws(() => statSync(host ?? ''));
  });

  test('without the values (a restored assignment) the task waits for the server', () => {
    assert.throws(() => new SecretFileWriter(base).prepare(task(false)), SecretsUnavailableError);
    assert.deepEqual(
      new SecretFileWriter(base).prepare({
        ...task(false),
        spec: serviceSpecSchema.parse({ name: 'a', image: 'i' }),
      }),
      [],
    );
  });

  test('what the agent saves to disk has references, not values (nor a registry credential)', () => {
    const saved = JSON.stringify(
      withoutSecretValues({ ...task(true), registry_auth: 'UkVHSVNUUlktQVVUSA==' }),
    );
    assert.ok(!saved.includes(Buffer.from('s3cret').toString('base64')));
    assert.ok(!saved.includes('UkVHSVNUUlktQVVUSA=='));
    assert.match(saved, /"secrets":\[\{"name":"db"/);
  });
});
