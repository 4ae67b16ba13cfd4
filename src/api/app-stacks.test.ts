/**
 * Stacks through the API: a batch of specs deployed whole or not at all, with the secrets it
 * defines; a redeploy reports what changed; prune removes what the file dropped; names of another
 * stack or of a plain service are refused, and so are aliases that would answer twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stackDeployViewSchema, stackSummarySchema, stackViewSchema } from '../model/stack.ts';
import type { Fixture } from './test-fixture.ts';
import { createFixture, field } from './test-fixture.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const web = {
  name: 'shop-web',
  image: 'skiff-demo:v1',
  replicas: 2,
  aliases: ['web'],
  networks: ['shop-default'],
};
const db = {
  name: 'shop-db',
  image: 'skiff-demo:v1',
  aliases: ['db'],
  networks: ['shop-default'],
  secrets: [{ name: 'shop-db_password', target: 'db_password' }],
};
const body = (services: object[], extra: object = {}) => ({
  services,
  secrets: [{ name: 'shop-db_password', data: b64('hunter22') }],
  ...extra,
});

describe('stacks', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('deployed whole, with its secret, and listed', async () => {
    const res = await f.call('POST', '/api/stacks/shop', body([web, db]));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(stackDeployViewSchema.parse(res.body), {
      name: 'shop',
      created: ['shop-web', 'shop-db'],
      updated: [],
      unchanged: [],
      removed: [],
    });
    assert.equal((await f.call('GET', '/api/secrets')).text.includes('shop-db_password'), true);
    const list = stackSummarySchema.array().parse((await f.call('GET', '/api/stacks')).body);
    assert.deepEqual(
      list.map((s) => [s.name, s.services, s.replicas]),
      [['shop', 2, 3]],
    );
    const detail = stackViewSchema.parse((await f.call('GET', '/api/stacks/shop')).body);
    assert.deepEqual(
      detail.services.map((s) => [s.name, s.labels['skiff.stack']]),
      [
        ['shop-db', 'shop'],
        ['shop-web', 'shop'],
      ],
    );
  });

  test('a redeploy reports what changed; prune removes what the file no longer has', async () => {
    const again = await f.call('POST', '/api/stacks/shop', body([{ ...web, replicas: 3 }, db]));
    assert.deepEqual(field(again.body, 'updated'), ['shop-web']);
    assert.deepEqual(field(again.body, 'unchanged'), ['shop-db']);
    const kept = await f.call('POST', '/api/stacks/shop', body([{ ...web, replicas: 3 }]));
    assert.deepEqual(field(kept.body, 'removed'), [], 'without prune nothing is removed');
    assert.equal((await f.call('GET', '/api/services/shop-db')).status, 200);
    const pruned = await f.call('POST', '/api/stacks/shop', body([{ ...web, replicas: 3 }], { prune: true }));
    assert.deepEqual(field(pruned.body, 'removed'), ['shop-db']);
    assert.equal((await f.call('GET', '/api/services/shop-db')).status, 404);
  });

  test('one invalid spec, and nothing of the batch is stored', async () => {
    const res = await f.call('POST', '/api/stacks/blog', {
      services: [
        { name: 'blog-web', image: 'skiff-demo:v1' },
        { name: 'blog-db', image: 'skiff-demo:v1', replicas: -1 },
      ],
      secrets: [{ name: 'blog-key', data: b64('k') }],
    });
    assert.equal(res.status, 400);
    assert.match(String(field(res.body, 'error')), /services\.1/);
    assert.equal((await f.call('GET', '/api/services/blog-web')).status, 404);
    assert.equal((await f.call('GET', '/api/stacks/blog')).status, 404);
    assert.equal((await f.call('GET', '/api/secrets')).text.includes('blog-key'), false);
  });

  test('names: NAME-SERVICE only, never a service of another stack or outside stacks', async () => {
    const misnamed = await f.call('POST', '/api/stacks/blog', {
      services: [{ name: 'web', image: 'skiff-demo:v1' }],
    });
    assert.equal(misnamed.status, 400);
    assert.equal(
      (await f.call('POST', '/api/deploy', { name: 'blog-api', image: 'skiff-demo:v1' })).status,
      201,
    );
    const taken = await f.call('POST', '/api/stacks/blog', {
      services: [{ name: 'blog-api', image: 'skiff-demo:v1' }],
    });
    assert.equal(taken.status, 409);
    assert.match(String(field(taken.body, 'error')), /not part of stack blog/);
    assert.equal((await f.call('POST', '/api/stacks/Bad_Name', { services: [web] })).status, 400);
  });

  test('an alias another service answers to on a shared network is refused', async () => {
    const res = await f.call('POST', '/api/stacks/shop', {
      services: [
        { ...web, replicas: 3 },
        { name: 'shop-www', image: 'skiff-demo:v1', aliases: ['web'], networks: ['shop-default'] },
      ],
    });
    assert.equal(res.status, 409);
    assert.match(
      String(field(res.body, 'error')),
      /aliases: web already answers for service shop-w(eb|ww) on network shop-default/,
    );
  });

  test('removed with all its services; an unknown stack is 404', async () => {
    const res = await f.call('DELETE', '/api/stacks/shop');
    assert.equal(res.status, 200);
    assert.deepEqual(field(res.body, 'services'), ['shop-web']);
    assert.equal((await f.call('GET', '/api/services/shop-web')).status, 404);
    assert.equal((await f.call('DELETE', '/api/stacks/shop')).status, 404);
  });
});

describe('a stack that changes a secret other services use', () => {
  test('rolls them too, and is refused whole (403) when one is no longer admitted', async () => {
    const f = createFixture();
    try {
      const spec = {
        name: 'other',
        image: 'skiff-demo:v1',
        cap_add: ['NET_ADMIN'],
        secrets: [{ name: 'shop-db_password' }],
      };
      assert.equal(
        (await f.call('POST', '/api/secrets', { name: 'shop-db_password', data: b64('one') })).status,
        201,
      );
      await f.call('POST', '/api/policy/allow', { service: 'other', exception: 'cap:NET_ADMIN' });
      assert.equal((await f.call('POST', '/api/deploy', spec)).status, 201);
      const before = f.store.getService('other')?.revision ?? 0;

      const rolled = await f.call(
        'POST',
        '/api/stacks/shop',
        body([db], { secrets: [{ name: 'shop-db_password', data: b64('two') }] }),
      );
      assert.equal(rolled.status, 200, rolled.text);
      assert.equal(f.store.getService('other')?.revision, before + 1, 'the service outside the stack rolls');
      assert.equal(f.store.getService('other')?.spec.secrets?.[0]?.version, 2);

      await f.call('POST', '/api/policy/deny', { service: 'other', exception: 'cap:NET_ADMIN' });
      const refused = await f.call(
        'POST',
        '/api/stacks/shop',
        body([db], { secrets: [{ name: 'shop-db_password', data: b64('three') }] }),
      );
      assert.equal(refused.status, 403, refused.text);
      assert.match(String(field(refused.body, 'error')), /cap_add\.0: NET_ADMIN/);
      assert.equal(f.store.getService('other')?.revision, before + 1);
      const list = (await f.call('GET', '/api/secrets')).body as { name: string; version: number }[];
      assert.equal(list.find((e) => e.name === 'shop-db_password')?.version, 2, 'nothing written');
    } finally {
      f.close();
    }
  });
});
