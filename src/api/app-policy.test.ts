/**
 * The admission policy through the API: baseline refuses a privileged spec with the field and the
 * rule named (and stores nothing), an admin's exception lets exactly that service through, the
 * policy rides with each task to the agent, rollbacks are checked too, and each change is an event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { admissionPolicySchema } from '../policy/admission-policy.ts';
import { AGENT_FEATURES } from '../protocol/features.ts';
import type { FakeNode, Fixture } from './test-fixture.ts';
import { createFixture, field } from './test-fixture.ts';

const PLAIN = { name: 'web', image: 'skiff-demo:v1', replicas: 1 };

describe('admission policy', () => {
  let f: Fixture;
  let node: FakeNode;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('the default is baseline with no exceptions', async () => {
    const res = await f.call('GET', '/api/policy');
    assert.equal(res.status, 200);
    assert.deepEqual(admissionPolicySchema.parse(res.body), { mode: 'baseline', exceptions: {} });
  });

  test('a privileged spec is refused with 403 naming the field and the rule, and nothing is stored', async () => {
    const res = await f.call('POST', '/api/deploy', { ...PLAIN, privileged: true, cap_add: ['SYS_ADMIN'] });
    assert.equal(res.status, 403, res.text);
    const details = field(res.body, 'details') as string[];
    assert.equal(details.length, 2);
    assert.match(details[0] ?? '', /^privileged: .*baseline\/privileged/);
    assert.match(
      details[1] ?? '',
      /^cap_add\.0: SYS_ADMIN .*baseline\/capabilities.*skiff policy allow web cap:SYS_ADMIN/,
    );
    assert.equal(f.store.getService('web'), undefined);
  });

  test('unknown or malformed privilege fields are 400, as any spec field', async () => {
    for (const bad of [
      { network_mode: 'bridge' },
      { cap_add: ['net_admin'] },
      { cap_add: ['CAP_NET_ADMIN'] },
      { devices: ['sda'] },
      { seccomp: 'off' },
    ]) {
      const res = await f.call('POST', '/api/deploy', { ...PLAIN, ...bad });
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
    }
  });

  test('an exception lets that service through, and its tasks carry it to the agent', async () => {
    node = f.connectNode('node-1', { features: AGENT_FEATURES });
    const allowed = await f.call('POST', '/api/policy/allow', { service: 'web', exception: 'cap:NET_ADMIN' });
    assert.equal(allowed.status, 200, allowed.text);
    assert.deepEqual(field(allowed.body, 'exceptions'), { web: ['cap:NET_ADMIN'] });
    const res = await f.call('POST', '/api/deploy', { ...PLAIN, cap_add: ['NET_ADMIN'] });
    assert.equal(res.status, 201, res.text);
    const other = await f.call('POST', '/api/deploy', { ...PLAIN, name: 'db', cap_add: ['NET_ADMIN'] });
    assert.equal(other.status, 403, 'another service does not get web’s exception');
    const [task] = node.lastAssign()?.tasks ?? [];
    assert.deepEqual(task?.admission, { mode: 'baseline', allow: ['cap:NET_ADMIN'] });
  });

  test('withdrawing the exception re-sends the policy; a rollback to a refused revision is 403', async () => {
    // Revision 2 drops the capability; revision 1 still has it.
    assert.equal((await f.call('POST', '/api/deploy', { ...PLAIN, replicas: 1 })).status, 200);
    const sentBefore = node.assigns().length;
    assert.equal(
      (await f.call('POST', '/api/policy/deny', { service: 'web', exception: 'cap:NET_ADMIN' })).status,
      200,
    );
    assert.ok(node.assigns().length > sentBefore, 'the node is sent the changed policy');
    for (const task of node.lastAssign()?.tasks ?? [])
      assert.deepEqual(task.admission, { mode: 'baseline', allow: [] });
    const rollback = await f.call('POST', '/api/services/web/rollback', {});
    assert.equal(rollback.status, 403, rollback.text);
    assert.match(String(field(rollback.body, 'error')), /cap_add\.0: NET_ADMIN/);
  });

  test('PUT /api/policy: privileged mode admits anything; invalid bodies are 400; changes are events', async () => {
    assert.equal((await f.call('PUT', '/api/policy', { mode: 'lax' })).status, 400);
    assert.equal(
      (await f.call('PUT', '/api/policy', { mode: 'baseline', exceptions: { web: ['root'] } })).status,
      400,
    );
    assert.equal((await f.call('PUT', '/api/policy', { mode: 'privileged' })).status, 200);
    assert.equal(
      (await f.call('POST', '/api/deploy', { ...PLAIN, name: 'tools', privileged: true, pid_mode: 'host' }))
        .status,
      201,
    );
    assert.equal((await f.call('PUT', '/api/policy', { mode: 'baseline' })).status, 200);
    const messages = f.store
      .listEvents({ limit: 100 })
      .filter((e) => e.type === 'policy')
      .map((e) => e.message);
    assert.deepEqual(messages, [
      'Admission policy now allows cap:NET_ADMIN for service web (by token admin)',
      'Admission policy no longer allows cap:NET_ADMIN for service web (by token admin)',
      'Admission policy set to privileged with exceptions for 0 service(s) (by token admin)',
      'Admission policy set to baseline with exceptions for 0 service(s) (by token admin)',
    ]);
  });
});

describe('every write that makes replicas of a spec re-checks the policy', () => {
  test('scale up and a secret update of a service the policy no longer admits are 403; scale down is not', async () => {
    const f = createFixture();
    try {
      f.connectNode('node-1', { features: AGENT_FEATURES });
      const b64 = (text: string) => Buffer.from(text).toString('base64');
      assert.equal((await f.call('POST', '/api/secrets', { name: 'key', data: b64('one') })).status, 201);
      await f.call('POST', '/api/policy/allow', { service: 'web', exception: 'cap:NET_ADMIN' });
      const spec = { ...PLAIN, replicas: 2, cap_add: ['NET_ADMIN'], secrets: [{ name: 'key' }] };
      assert.equal((await f.call('POST', '/api/deploy', spec)).status, 201);
      await f.call('POST', '/api/policy/deny', { service: 'web', exception: 'cap:NET_ADMIN' });

      const up = await f.call('POST', '/api/services/web/scale', { replicas: 3 });
      assert.equal(up.status, 403, up.text);
      assert.match(String(field(up.body, 'error')), /cap_add\.0: NET_ADMIN/);
      assert.equal(f.store.getService('web')?.spec.replicas, 2);

      const revision = f.store.getService('web')?.revision;
      const update = await f.call('POST', '/api/secrets', { name: 'key', data: b64('two') });
      assert.equal(update.status, 403, update.text);
      assert.match(String(field(update.body, 'error')), /cap_add\.0: NET_ADMIN/);
      assert.equal(f.store.getService('web')?.revision, revision, 'no new revision');
      const list = (await f.call('GET', '/api/secrets')).body as { name: string; version: number }[];
      assert.equal(list.find((e) => e.name === 'key')?.version, 1, 'the value is not written');

      const down = await f.call('POST', '/api/services/web/scale', { replicas: 1 });
      assert.equal(down.status, 200, down.text);
      await f.call('POST', '/api/policy/allow', { service: 'web', exception: 'cap:NET_ADMIN' });
      assert.equal((await f.call('POST', '/api/services/web/scale', { replicas: 3 })).status, 200);
      assert.equal((await f.call('POST', '/api/secrets', { name: 'key', data: b64('two') })).status, 200);
    } finally {
      f.close();
    }
  });
});

describe('agents from before privileges and secrets', () => {
  test('a replica that needs them is not placed on such an agent (it would run without them)', async () => {
    const f = createFixture();
    try {
      const old = f.connectNode('old');
      await f.call('POST', '/api/policy/allow', { service: 'web', exception: 'cap:NET_ADMIN' });
      const res = await f.call('POST', '/api/deploy', { ...PLAIN, cap_add: ['NET_ADMIN'] });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(old.lastAssign()?.tasks ?? [], []);
      assert.match(JSON.stringify(res.body), /container-privileges/);
    } finally {
      f.close();
    }
  });
});
