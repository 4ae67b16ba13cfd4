/**
 * Volumes through the API: a deploy's per-slot volumes pin its replicas to the node reporting
 * them, `GET /api/volumes` says where each is and who uses it, a volume a replica is meant to use
 * is not removed, `rm --volumes` asks the holder to remove its volumes (plain `rm` keeps them), a
 * move starts the replica elsewhere; invalid volume specs are refused naming the field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serviceViewSchema } from '../model/views.ts';
import { volumeViewSchema } from '../model/volume-view.ts';
import { AGENT_FEATURES } from '../protocol/features.ts';
import { recordVolumes } from '../server/volume-registry.ts';
import type { FakeNode, Fixture } from './test-fixture.ts';
import { createFixture } from './test-fixture.ts';

const spec = (name: string, replicas = 2) => ({
  name,
  image: 'skiff-demo:v1',
  replicas,
  volumes: [{ source: `${name}-data-{{.Task.Slot}}`, target: '/data' }],
});

describe('volumes', () => {
  let f: Fixture;
  let a: FakeNode;
  let b: FakeNode;
  before(() => {
    f = createFixture();
    a = f.connectNode('node-a', { features: AGENT_FEATURES });
    b = f.connectNode('node-b', { features: AGENT_FEATURES });
  });
  after(() => f.close());

  const replicas = async (name: string) =>
    serviceViewSchema.parse((await f.call('GET', `/api/services/${name}`)).body).containers;

  test('a deploy with a volume spec the schema or the replica count refuses names the field', async () => {
    const bind = await f.call('POST', '/api/deploy', {
      name: 'bad',
      image: 'x',
      volumes: [{ type: 'bind', target: '/x' }],
    });
    assert.equal(bind.status, 400);
    assert.match(bind.text, /volumes\.0\.source: a bind mount needs the host path/);
    const shared = await f.call('POST', '/api/deploy', {
      name: 'bad',
      image: 'x',
      replicas: 2,
      volumes: [{ source: 'one', target: '/x' }],
    });
    assert.equal(shared.status, 400);
    assert.match(shared.text, /volumes\.0\.source: 2 replicas cannot all write the single-writer volume one/);
    const host = await f.call('POST', '/api/deploy', {
      name: 'bad',
      image: 'x',
      volumes: [{ type: 'bind', source: '/etc', target: '/x' }],
    });
    assert.equal(host.status, 403, 'a host path is refused by the baseline policy');
    assert.match(host.text, /volumes\.0\.source: host path \/etc \(baseline\/host-paths/);
  });

  test('replicas are pinned to the node that reports their volume, which ls shows with its user', async () => {
    // Reported before the deploy (left from an earlier life of the service): db-data-1 is on node-a.
    recordVolumes(f.store, a.id, [
      { name: 'db-data-1', service: 'db', slot: 1, created_at: 1000, used_by: [] },
    ]);
    assert.equal((await f.call('POST', '/api/deploy', spec('db'))).status, 201);
    const placed = await replicas('db');
    const slot1 = placed.find((c) => c.slot === 1);
    assert.equal(slot1?.node_id, a.id, 'pinned to its volume');
    const slot0 = placed.find((c) => c.slot === 0);
    assert.equal(slot0?.node_id, b.id, 'spread as usual without a volume anywhere');
    recordVolumes(f.store, b.id, [
      { name: 'db-data-0', service: 'db', slot: 0, created_at: 2000, used_by: [slot0?.task_id ?? ''] },
    ]);
    const rows = volumeViewSchema.array().parse((await f.call('GET', '/api/volumes')).body);
    assert.deepEqual(
      rows.map((r) => [r.name, r.node, r.replica, r.used_by.map((u) => u.replica), r.state]),
      [
        ['db-data-0', b.id, 'db-0', ['db-0'], 'present'],
        ['db-data-1', a.id, 'db-1', [], 'present'],
      ],
    );
    assert.equal((await f.call('GET', '/api/volumes/db-data-0')).status, 200);
    assert.equal((await f.call('GET', '/api/volumes/nope')).status, 404);
  });

  test('a volume a replica is meant to use is not removed', async () => {
    const refused = await f.call('DELETE', '/api/volumes/db-data-0');
    assert.equal(refused.status, 409);
    assert.match(refused.text, /volume db-data-0 is used by db-0/);
  });

  test('a move records where the replica goes; the old copy is stale', async () => {
    assert.equal((await f.call('POST', '/api/volumes/db-data-0/move', { to: 'nowhere' })).status, 404);
    assert.equal((await f.call('POST', '/api/volumes/db-data-0/move', {})).status, 400);
    // The fixture's replicas are never observed running, so nothing holds the volume in use.
    const moved = await f.call('POST', '/api/volumes/db-data-0/move', { to: a.id });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual(
      volumeViewSchema
        .array()
        .parse(moved.body)
        .map((r) => [r.node, r.state]),
      [
        [a.id, 'moved'],
        [b.id, 'stale'],
      ],
    );
    const events = await f.call('GET', '/api/events?limit=5');
    assert.match(
      events.text,
      /Volume db-data-0 moved to node-a: its replica starts there with an empty volume \(the data stays on node-b\)/,
    );
  });

  test('rm keeps the volumes; rm --volumes asks the nodes holding them to remove them', async () => {
    assert.equal((await f.call('POST', '/api/deploy', spec('keep', 1))).status, 201);
    recordVolumes(f.store, a.id, [
      { name: 'db-data-1', service: 'db', slot: 1, created_at: 1000, used_by: [] },
      { name: 'keep-data-0', service: 'keep', slot: 0, created_at: 1000, used_by: [] },
    ]);
    const before = a.sent.length + b.sent.length;
    assert.equal((await f.call('DELETE', '/api/services/keep')).status, 200);
    const removals = () => [...a.sent, ...b.sent].filter((m) => m.type === 'volumes.remove');
    assert.equal(removals().length, 0, 'plain rm asks for no removal');
    assert.ok(a.sent.length + b.sent.length >= before);
    const rows = volumeViewSchema.array().parse((await f.call('GET', '/api/volumes')).body);
    assert.ok(
      rows.some((r) => r.name === 'keep-data-0' && r.state === 'present'),
      'kept',
    );

    const removed = await f.call('DELETE', '/api/services/db?volumes=true');
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual((removed.body as { volumes: string[] }).volumes, ['db-data-0', 'db-data-1']);
    assert.deepEqual(
      removals().map((m) => m.type === 'volumes.remove' && m.names),
      [
        ['db-data-0', 'db-data-1'],
        ['db-data-0', 'db-data-1'],
      ],
      'each holder asked',
    );
    const after = volumeViewSchema.array().parse((await f.call('GET', '/api/volumes')).body);
    assert.deepEqual(
      after.filter((r) => r.name.startsWith('db-')).map((r) => r.state),
      ['removing', 'removing'],
    );
    // The nodes report them gone: the removal is done.
    recordVolumes(f.store, a.id, [
      { name: 'keep-data-0', service: 'keep', slot: 0, created_at: 1000, used_by: [] },
    ]);
    recordVolumes(f.store, b.id, []);
    const done = volumeViewSchema.array().parse((await f.call('GET', '/api/volumes')).body);
    assert.deepEqual(
      done.map((r) => r.name),
      ['keep-data-0'],
    );
    // A volume no service uses can go: its holder is asked.
    const rm = await f.call('DELETE', '/api/volumes/keep-data-0');
    assert.equal(rm.status, 200, rm.text);
    assert.deepEqual(rm.body, { removing: 'keep-data-0', nodes: [a.id] });
  });
});
