/**
 * Secrets and configs through the API: created from base64, listed without values, referenced by
 * a deploy (a missing one is 400), sent only to the node that runs a replica using it, never in a
 * ServiceView, list or event; an update rolls the services that use it; removal refused while used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { secretViewSchema } from '../model/access-views.ts';
import { serviceViewSchema } from '../model/views.ts';
import { AGENT_FEATURES } from '../protocol/features.ts';
import type { Fixture } from './test-fixture.ts';
import { createFixture, field } from './test-fixture.ts';

const VALUE = 'pa55-w0rd-that-must-not-leak';
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('secrets and configs', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('created and listed without the value', async () => {
    const created = await f.call('POST', '/api/secrets', { name: 'db-password', data: b64(VALUE) });
    assert.equal(created.status, 201, created.text);
    assert.equal(secretViewSchema.parse(created.body).version, 1);
    const list = await f.call('GET', '/api/secrets');
    assert.equal(list.status, 200);
    assert.equal(secretViewSchema.array().parse(list.body)[0]?.size_bytes, VALUE.length);
    for (const text of [created.text, list.text])
      assert.ok(!text.includes(VALUE) && !text.includes(b64(VALUE)));
    assert.equal((await f.call('POST', '/api/secrets', { name: 'bad/name', data: b64('x') })).status, 400);
    assert.equal((await f.call('POST', '/api/secrets', { name: 'x', data: 'not base64!' })).status, 400);
    assert.equal(
      (await f.call('GET', '/api/secrets/db-password')).status,
      404,
      'a secret cannot be read back',
    );
  });

  test('a deploy naming a missing secret is 400 with the field named', async () => {
    const res = await f.call('POST', '/api/deploy', {
      name: 'web',
      image: 'skiff-demo:v1',
      secrets: [{ name: 'nope' }],
    });
    assert.equal(res.status, 400);
    assert.match(String(field(res.body, 'error')), /secrets\.0\.name: no secret nope/);
  });

  test('values go only to the node running a replica that uses them, and nowhere else', async () => {
    const a = f.connectNode('a', { features: AGENT_FEATURES });
    const b = f.connectNode('b', { features: AGENT_FEATURES });
    await f.call('POST', '/api/configs', { name: 'app.conf', data: b64('debug = false') });
    const res = await f.call('POST', '/api/deploy', {
      name: 'web',
      image: 'skiff-demo:v1',
      replicas: 1,
      secrets: [{ name: 'db-password' }],
      configs: [{ name: 'app.conf', target: '/etc/app.conf' }],
    });
    assert.equal(res.status, 201, res.text);
    const view = serviceViewSchema.parse(res.body);
    assert.deepEqual(view.secrets, [{ name: 'db-password', version: 1 }]);
    const [holder, other] = view.containers[0]?.node_id === a.id ? [a, b] : [b, a];
    const task = holder.lastAssign()?.tasks[0];
    assert.deepEqual(
      task?.secret_files?.map((s) => [s.kind, s.target, s.mode, Buffer.from(s.data, 'base64').toString()]),
      [
        ['secret', '/run/secrets/db-password', 0o400, VALUE],
        ['config', '/etc/app.conf', 0o444, 'debug = false'],
      ],
    );
    assert.ok(!JSON.stringify(other.sent).includes(b64(VALUE)), 'the other node never receives it');
    const everywhere = [
      (await f.call('GET', '/api/services')).text,
      (await f.call('GET', '/api/services/web')).text,
      (await f.call('GET', '/api/events')).text,
      f.logged.join('\n'),
    ].join('\n');
    assert.ok(!everywhere.includes(VALUE) && !everywhere.includes(b64(VALUE)));
  });

  test('updating a secret rolls the services that use it; unchanged it does not', async () => {
    const before = serviceViewSchema.parse((await f.call('GET', '/api/services/web')).body).revision;
    assert.equal(
      (await f.call('POST', '/api/secrets', { name: 'db-password', data: b64(VALUE) })).status,
      200,
    );
    assert.equal(serviceViewSchema.parse((await f.call('GET', '/api/services/web')).body).revision, before);
    const updated = await f.call('POST', '/api/secrets', { name: 'db-password', data: b64(`${VALUE}-v2`) });
    assert.equal(secretViewSchema.parse(updated.body).version, 2);
    const after = serviceViewSchema.parse((await f.call('GET', '/api/services/web')).body);
    assert.equal(after.revision, before + 1);
    assert.deepEqual(after.secrets, [{ name: 'db-password', version: 2 }]);
    const messages = f.store.listEvents({ limit: 100 }).map((e) => e.message);
    assert.ok(
      messages.includes('Secret db-password updated to version 2: rolling web (by token admin)'),
      JSON.stringify(messages),
    );
  });

  test('a config can be read back; removal is refused while a service uses it', async () => {
    const config = await f.call('GET', '/api/configs/app.conf');
    assert.equal(Buffer.from(String(field(config.body, 'data')), 'base64').toString(), 'debug = false');
    const refused = await f.call('DELETE', '/api/secrets/db-password');
    assert.equal(refused.status, 409);
    assert.match(String(field(refused.body, 'error')), /used by web/);
    assert.equal((await f.call('DELETE', '/api/services/web')).status, 200);
    assert.equal((await f.call('DELETE', '/api/secrets/db-password')).status, 200);
    assert.equal((await f.call('DELETE', '/api/secrets/db-password')).status, 404);
  });
});
