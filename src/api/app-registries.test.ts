/**
 * Registry credentials through the API: stored and listed without the password, sent (as
 * X-Registry-Auth) only with the tasks whose image comes from that registry, resent to the nodes
 * when they change; a deploy pins a tag to the digest its registry resolves (a fake resolver
 * here: test/registry-*.test.ts asks a real registry), and an unreachable one leaves the tag, or
 * the running revision's digest, with an event saying so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registryViewSchema } from '../model/registry-views.ts';
import { serviceViewSchema } from '../model/views.ts';
import { AGENT_FEATURES } from '../protocol/features.ts';
import type { DigestResolver, Resolution } from '../registry/digest-resolver.ts';
import type { Fixture } from './test-fixture.ts';
import { createFixture } from './test-fixture.ts';

const REGISTRY = 'registry.test:5000';
const PASSWORD = 'registry-pa55-that-must-not-leak';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

class ScriptedResolver implements DigestResolver {
  next: Resolution = { kind: 'resolved', digest: D1 };
  readonly asked: { reference: string; username: string | undefined }[] = [];
  async resolve(reference: string, credential: { username: string } | undefined): Promise<Resolution> {
    this.asked.push({ reference, username: credential?.username });
    return this.next;
  }
}

const decode = (auth: string | undefined) =>
  auth === undefined ? undefined : JSON.parse(Buffer.from(auth, 'base64url').toString('utf8'));

describe('registry credentials', () => {
  let f: Fixture;
  const resolver = new ScriptedResolver();
  before(() => {
    f = createFixture({ deps: { digestResolver: resolver } });
  });
  after(() => f.close());

  test('login stores, ls shows no password, a bad host is 400', async () => {
    const created = await f.call('POST', '/api/registries', {
      registry: REGISTRY,
      username: 'ci',
      password: PASSWORD,
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(registryViewSchema.parse(created.body).username, 'ci');
    const list = await f.call('GET', '/api/registries');
    assert.deepEqual(
      registryViewSchema
        .array()
        .parse(list.body)
        .map((r) => [r.registry, r.username]),
      [[REGISTRY, 'ci']],
    );
    for (const text of [created.text, list.text, (await f.call('GET', '/api/events')).text])
      assert.ok(!text.includes(PASSWORD));
    for (const registry of ['https://registry.test', 'registry.test/path', ''])
      assert.equal(
        (await f.call('POST', '/api/registries', { registry, username: 'u', password: 'p' })).status,
        400,
        registry,
      );
  });

  let connected: ReturnType<Fixture['connectNode']> | undefined;
  const holder = () => {
    if (!connected) throw new Error('no node yet');
    return connected;
  };

  test('a deploy pins the tag; the credential goes with the tasks of that registry only', async () => {
    const node = f.connectNode('a', { features: AGENT_FEATURES });
    connected = node;
    resolver.next = { kind: 'resolved', digest: D1 };
    const res = await f.call('POST', '/api/deploy', {
      name: 'reg-web',
      image: `${REGISTRY}/team/app:v1`,
      replicas: 1,
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(serviceViewSchema.parse(res.body).image, `${REGISTRY}/team/app:v1@${D1}`);
    assert.deepEqual(resolver.asked.at(-1), { reference: `${REGISTRY}/team/app:v1`, username: 'ci' });
    const other = await f.call('POST', '/api/deploy', {
      name: 'reg-local',
      image: 'skiff-demo:v1',
      replicas: 1,
    });
    assert.equal(other.status, 201, other.text);
    assert.equal(resolver.asked.length, 1, 'a registry without a credential is never asked');
    const tasks = node.lastAssign()?.tasks ?? [];
    const web = tasks.find((t) => t.service === 'reg-web');
    assert.equal(web?.spec.image, `${REGISTRY}/team/app:v1@${D1}`);
    assert.deepEqual(decode(web?.registry_auth), {
      username: 'ci',
      password: PASSWORD,
      serveraddress: REGISTRY,
    });
    assert.equal(tasks.find((t) => t.service === 'reg-local')?.registry_auth, undefined);
    const events = (await f.call('GET', '/api/events?service=reg-web')).text;
    assert.match(events, /resolved to sha256:1{64}: every replica runs that digest/);
  });

  test('a redeploy resolves anew: the same digest changes nothing, a new one is a new revision', async () => {
    const same = await f.call('POST', '/api/deploy', {
      name: 'reg-web',
      image: `${REGISTRY}/team/app:v1`,
      replicas: 1,
    });
    assert.equal(same.status, 200);
    assert.equal(serviceViewSchema.parse(same.body).revision, 1);
    resolver.next = { kind: 'resolved', digest: D2 };
    const moved = await f.call('POST', '/api/deploy', {
      name: 'reg-web',
      image: `${REGISTRY}/team/app:v1`,
      replicas: 1,
    });
    const view = serviceViewSchema.parse(moved.body);
    assert.equal(view.image, `${REGISTRY}/team/app:v1@${D2}`);
    assert.equal(view.revision, 2);
  });

  test('unreachable at deploy: the running digest is kept, a new tag runs unpinned, and events say so', async () => {
    resolver.next = { kind: 'unresolved', reachable: false, reason: 'connect ECONNREFUSED' };
    const kept = await f.call('POST', '/api/deploy', {
      name: 'reg-web',
      image: `${REGISTRY}/team/app:v1`,
      replicas: 1,
    });
    assert.equal(serviceViewSchema.parse(kept.body).image, `${REGISTRY}/team/app:v1@${D2}`);
    const fresh = await f.call('POST', '/api/deploy', {
      name: 'reg-web',
      image: `${REGISTRY}/team/app:v2`,
      replicas: 1,
    });
    assert.equal(serviceViewSchema.parse(fresh.body).image, `${REGISTRY}/team/app:v2`);
    const events = (await f.call('GET', '/api/events?service=reg-web')).text;
    assert.match(
      events,
      /unreachable: connect ECONNREFUSED\): keeping sha256:2{64} from the running revision/,
    );
    assert.match(
      events,
      /team\/app:v2 not resolved to a digest \(registry registry\.test:5000 unreachable: connect ECONNREFUSED\): deploying the tag unpinned/,
    );
  });

  test('logout and login again: the nodes get their tasks again without it, then with it', async () => {
    const node = holder();
    const webAuth = () => node.lastAssign()?.tasks.find((t) => t.service === 'reg-web')?.registry_auth;
    assert.notEqual(webAuth(), undefined);
    const removed = await f.call('DELETE', `/api/registries/${encodeURIComponent(REGISTRY)}`);
    assert.equal(removed.status, 200, removed.text);
    assert.equal((await f.call('GET', '/api/registries')).text, '[]');
    assert.equal((await f.call('DELETE', `/api/registries/${REGISTRY}`)).status, 404);
    assert.equal(webAuth(), undefined, 'resent without the credential');
    const again = await f.call('POST', '/api/registries', {
      registry: REGISTRY,
      username: 'ci2',
      password: PASSWORD,
    });
    assert.equal(again.status, 201);
    assert.equal(decode(webAuth())?.username, 'ci2', 'resent with the new credential');
  });
});
