/**
 * Services through the API: deploy, redeploy, update, list, scale, delete; the events each step
 * leaves; and where replicas go (or why they cannot) when a fake node is connected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import type { ServiceView } from '../model/views.ts';
import { nodeViewSchema, serviceViewSchema } from '../model/views.ts';
import type { AssignMessage, FakeNode, Fixture } from './test-fixture.ts';
import { createFixture, GiB, reportAssigned } from './test-fixture.ts';

const SPEC = { name: 'api-server', image: 'skiff-demo:v1', replicas: 3 };

function viewOf(body: unknown): ServiceView {
  return serviceViewSchema.parse(body);
}

/** The replicas of the current revision that are meant to run. */
function current(view: ServiceView): ServiceView['containers'] {
  return view.containers.filter((c) => c.revision === view.revision);
}

/** `slot@revision` of each task in an assignment, in slot order. */
function assigned(message: AssignMessage | undefined): string[] {
  assert.ok(message, 'the node received no assign message');
  return message.tasks.map((t) => `${t.slot}@${t.revision}`).sort();
}

function messages(f: Fixture, service?: string): string[] {
  return f.store.listEvents({ service, limit: 10_000 }).map((e) => e.message);
}

describe('service lifecycle', () => {
  let f: Fixture;
  let node: FakeNode;
  let firstTaskIds: string[];
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('deploy: 201 with a ServiceView and 3 pending replicas when no node has joined', async () => {
    const res = await f.call('POST', '/api/deploy', SPEC);
    assert.equal(res.status, 201, res.text);
    const view = viewOf(res.body);
    assert.equal(view.name, 'api-server');
    assert.equal(view.image, 'skiff-demo:v1');
    assert.equal(view.revision, 1);
    assert.equal(view.replicas, 3);
    assert.equal(view.status, 'pending');
    assert.equal(view.running, 0);
    assert.match(view.message ?? '', /no nodes have joined the cluster/);
    assert.deepEqual(
      view.containers.map((c) => c.name),
      ['api-server-0', 'api-server-1', 'api-server-2'],
    );
    for (const container of view.containers) {
      assert.equal(container.status, 'pending');
      assert.equal(container.node_id, null);
      assert.equal(container.id, null);
      assert.equal(container.message, 'no nodes have joined the cluster');
    }
    firstTaskIds = view.containers.map((c) => c.task_id);
    assert.ok(
      messages(f, 'api-server').includes(
        'Service api-server created: 3 replica(s) of skiff-demo:v1 (by token admin)',
      ),
    );
  });

  test('deploying the identical spec again: 200, same revision, same replicas, no new event', async () => {
    const eventsBefore = messages(f);
    const res = await f.call('POST', '/api/deploy', SPEC);
    assert.equal(res.status, 200, res.text);
    const view = viewOf(res.body);
    assert.equal(view.revision, 1);
    assert.deepEqual(
      view.containers.map((c) => c.task_id),
      firstTaskIds,
    );
    assert.deepEqual(messages(f), eventsBefore);
  });

  test('deploying a changed image: 200, revision 2, 3 replicas of it', async () => {
    const res = await f.call('POST', '/api/deploy', { ...SPEC, image: 'skiff-demo:v2' });
    assert.equal(res.status, 200, res.text);
    const view = viewOf(res.body);
    assert.equal(view.revision, 2);
    assert.equal(view.image, 'skiff-demo:v2');
    assert.deepEqual(
      current(view).map((c) => c.name),
      ['api-server-0', 'api-server-1', 'api-server-2'],
    );
    assert.ok(
      messages(f, 'api-server').includes(
        'Service api-server updated to revision 2 (skiff-demo:v2, 3 replica(s)) (by token admin)',
      ),
    );
  });

  test('replicas of revision 1 that were never placed are not kept around', async () => {
    // Nothing ever ran them, so there is nothing to keep serving during the update.
    const view = viewOf((await f.call('GET', '/api/services/api-server')).body);
    assert.deepEqual(
      view.containers.map((c) => `${c.name}@${c.revision}`),
      ['api-server-0@2', 'api-server-1@2', 'api-server-2@2'],
    );
  });

  test('GET /api/services lists it', async () => {
    const res = await f.call('GET', '/api/services');
    assert.equal(res.status, 200);
    const views = z.array(serviceViewSchema).parse(res.body);
    assert.deepEqual(
      views.map((v) => [v.name, v.revision, v.image]),
      [['api-server', 2, 'skiff-demo:v2']],
    );
  });

  test('scale to 5 with a ready node: 5 slots, all assigned to it in one assign message', async () => {
    node = f.connectNode('node-1');
    const res = await f.call('POST', '/api/services/api-server/scale', { replicas: 5 });
    assert.equal(res.status, 200, res.text);
    const view = viewOf(res.body);
    assert.equal(view.replicas, 5);
    assert.equal(view.revision, 2, 'scaling is not a new revision');
    assert.deepEqual(
      current(view).map((c) => [c.name, c.node_id, c.status]),
      [0, 1, 2, 3, 4].map((slot) => [`api-server-${slot}`, 'node-1', 'assigned']),
    );
    assert.deepEqual(assigned(node.lastAssign()), ['0@2', '1@2', '2@2', '3@2', '4@2']);
    assert.ok(
      messages(f, 'api-server').includes('Scaled api-server from 3 to 5 replica(s) (by token admin)'),
    );
  });

  test('scale to 1: slots 1..4 are no longer desired, the node is told to run 1 task', async () => {
    const res = await f.call('POST', '/api/services/api-server/scale', { replicas: 1 });
    assert.equal(res.status, 200, res.text);
    const view = viewOf(res.body);
    assert.equal(view.replicas, 1);
    assert.deepEqual(
      view.containers.map((c) => c.name),
      ['api-server-0'],
    );
    const stillDesired = f.store.listTasks('api-server').filter((t) => t.desiredState === 'running');
    assert.deepEqual(
      stillDesired.map((t) => `${t.slot}@${t.revision}`),
      ['0@2'],
    );
    assert.deepEqual(assigned(node.lastAssign()), ['0@2']);
  });

  test('delete: 200 {deleted}, then 404, the node is told to run nothing, and the event is logged', async () => {
    const res = await f.call('DELETE', '/api/services/api-server');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { deleted: 'api-server' });
    const after = await f.call('GET', '/api/services/api-server');
    assert.equal(after.status, 404);
    assert.deepEqual((await f.call('GET', '/api/services')).body, []);
    assert.deepEqual(assigned(node.lastAssign()), []);
    assert.ok(messages(f, 'api-server').includes('Service api-server removed (by token admin)'));
    assert.equal((await f.call('DELETE', '/api/services/api-server')).status, 404);
  });
});

describe('scaling on one node, one revision', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('3 → 5 → 5 → 1 replicas: assignments follow, a no-op scale sends and logs nothing', async () => {
    assert.equal((await f.call('POST', '/api/deploy', SPEC)).status, 201);
    const node = f.connectNode('node-1');
    const up = await f.call('POST', '/api/services/api-server/scale', { replicas: 5 });
    assert.equal(up.status, 200, up.text);
    assert.deepEqual(assigned(node.lastAssign()), ['0@1', '1@1', '2@1', '3@1', '4@1']);

    const sent = node.sent.length;
    const events = messages(f).length;
    const same = await f.call('POST', '/api/services/api-server/scale', { replicas: 5 });
    assert.equal(same.status, 200);
    assert.equal(node.sent.length, sent, 'an unchanged assignment is not sent again');
    assert.equal(messages(f).length, events, 'an unchanged replica count is no event');

    const down = await f.call('POST', '/api/services/api-server/scale', { replicas: 1 });
    assert.equal(down.status, 200, down.text);
    assert.deepEqual(
      viewOf(down.body).containers.map((c) => c.name),
      ['api-server-0'],
    );
    assert.deepEqual(assigned(node.lastAssign()), ['0@1']);
    const generations = node.assigns().map((m) => m.generation);
    assert.deepEqual(
      generations,
      [...generations].sort((a, b) => a - b),
      'generations only grow',
    );
  });
});

describe('redeploying an equivalent spec', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('spelled-out defaults and reordered fields are not a new revision', async () => {
    assert.equal((await f.call('POST', '/api/deploy', SPEC)).status, 201);
    const explicit = {
      stop_grace_period: '10s',
      restart_policy: { max_delay: '1m', delay: '1s', condition: 'always' },
      labels: {},
      env: {},
      resources: {},
      ports: [],
      replicas: 3,
      image: 'skiff-demo:v1',
      name: 'api-server',
    };
    const res = await f.call('POST', '/api/deploy', explicit);
    assert.equal(res.status, 200, res.text);
    assert.equal(viewOf(res.body).revision, 1);
  });

  test('the same env and labels in another order are not a new revision', async () => {
    const spec = { ...SPEC, name: 'with-env', env: { A: '1', B: '2' }, labels: { team: 'web', tier: 'api' } };
    assert.equal((await f.call('POST', '/api/deploy', spec)).status, 201);
    const reordered = { ...spec, env: { B: '2', A: '1' }, labels: { tier: 'api', team: 'web' } };
    const res = await f.call('POST', '/api/deploy', reordered);
    assert.equal(res.status, 200, res.text);
    assert.equal(viewOf(res.body).revision, 1, 'a key order is not a change worth rolling out');
  });
});

describe('events', () => {
  let f: Fixture;
  let t0: number;
  const eventSchema = z.object({
    id: z.int(),
    timestamp: z.iso.datetime(),
    type: z.string(),
    service: z.string().nullable(),
    container: z.string().nullable(),
    message: z.string(),
  });
  const get = async (query: string) => {
    const res = await f.call('GET', `/api/events${query}`);
    assert.equal(res.status, 200, res.text);
    return z.array(eventSchema).parse(res.body);
  };

  before(async () => {
    f = createFixture();
    t0 = f.clock;
    assert.equal((await f.call('POST', '/api/deploy', { ...SPEC, name: 'alpha', replicas: 1 })).status, 201);
    f.clock += 60_000;
    assert.equal((await f.call('POST', '/api/deploy', { ...SPEC, name: 'beta', replicas: 1 })).status, 201);
    f.clock += 60_000;
    assert.equal((await f.call('POST', '/api/services/beta/scale', { replicas: 2 })).status, 200);
  });
  after(() => f.close());

  test('GET /api/events: the spec shape, oldest first', async () => {
    const events = await get('');
    assert.ok(events.length >= 5);
    for (const event of events) {
      for (const key of ['timestamp', 'type', 'service', 'container', 'message']) {
        assert.ok(Object.hasOwn(event, key), `event lacks ${key}`);
      }
    }
    const ids = events.map((e) => e.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    const times = events.map((e) => Date.parse(e.timestamp));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.equal(events[0]?.message, 'Service alpha created: 1 replica(s) of skiff-demo:v1 (by token admin)');
    assert.equal(events[0]?.timestamp, new Date(t0).toISOString());
    assert.equal(events[0]?.type, 'service');
    assert.equal(events[0]?.container, null);
    assert.equal(events.at(-1)?.message, 'Replica beta-1 is pending: no nodes have joined the cluster');
    assert.equal(events.at(-1)?.container, 'beta-1');
  });

  test('service= keeps one service', async () => {
    const all = await get('');
    const beta = await get('?service=beta');
    assert.ok(beta.length > 0);
    assert.deepEqual(
      beta,
      all.filter((e) => e.service === 'beta'),
    );
    assert.deepEqual(await get('?service=nobody'), []);
  });

  test('limit= keeps the newest, still oldest first', async () => {
    const all = await get('');
    assert.deepEqual(await get('?limit=2'), all.slice(-2));
    assert.deepEqual(await get('?limit=1&service=alpha'), all.filter((e) => e.service === 'alpha').slice(-1));
    assert.deepEqual(await get('?limit=0'), []);
  });

  test('since= takes RFC 3339, unix seconds and durations ago', async () => {
    const all = await get('');
    const fromBeta = all.filter((e) => Date.parse(e.timestamp) >= t0 + 30_000);
    assert.ok(fromBeta.length > 0 && fromBeta.length < all.length);
    assert.deepEqual(await get(`?since=${new Date(t0 + 30_000).toISOString()}`), fromBeta);
    assert.deepEqual(await get(`?since=${(t0 + 30_000) / 1000}`), fromBeta);
    // The clock is at t0 + 120 s: 90 s ago is t0 + 30 s.
    assert.deepEqual(await get('?since=90s'), fromBeta);
  });
});

describe('scheduling reasons', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('3 × 512 MiB on a 1 GiB node: 2 placed, 1 pending for insufficient memory', async () => {
    const node = f.connectNode('small-node', { memoryBytes: GiB });
    const res = await f.call('POST', '/api/deploy', { ...SPEC, resources: { memory_mb: 512 } });
    assert.equal(res.status, 201, res.text);
    const view = viewOf(res.body);
    assert.equal(view.status, 'pending');
    assert.match(view.message ?? '', /insufficient memory/);
    const placed = view.containers.filter((c) => c.node_id === 'small-node');
    const pending = view.containers.filter((c) => c.node_id === null);
    assert.equal(placed.length, 2);
    for (const c of placed) assert.equal(c.status, 'assigned');
    assert.equal(pending.length, 1);
    assert.equal(pending[0]?.status, 'pending');
    assert.match(pending[0]?.message ?? '', /insufficient memory/);
    assert.ok(messages(f, 'api-server').some((m) => /is pending: .*insufficient memory/.test(m)));
    assert.equal(node.lastAssign()?.tasks.length, 2);

    const nodes = z.array(nodeViewSchema).parse((await f.call('GET', '/api/nodes')).body);
    assert.deepEqual(
      nodes.map((n) => [n.id, n.status, n.allocated_memory_bytes, n.containers]),
      [['small-node', 'ready', GiB, 2]],
    );
  });

  test('scaling down makes room: the pending replica goes away, the rest stay put', async () => {
    const res = await f.call('POST', '/api/services/api-server/scale', { replicas: 2 });
    const view = viewOf(res.body);
    assert.equal(view.status, 'starting');
    assert.ok(view.containers.every((c) => c.node_id === 'small-node'));
  });
});

describe('logs', () => {
  let f: Fixture;
  before(() => {
    f = createFixture();
  });
  after(() => f.close());

  test('a service with no running replica has no log lines, at once', async () => {
    assert.equal((await f.call('POST', '/api/deploy', SPEC)).status, 201);
    const res = await f.call('GET', '/api/services/api-server/logs');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(res.text, '');
  });
});

describe('GET /api/services after reports', () => {
  test("each answer shows the replicas' latest reports (views are remade from replaced records)", async () => {
    const f = createFixture();
    try {
      const node = f.connectNode('n1');
      assert.equal(
        (await f.call('POST', '/api/deploy', { name: 'web', image: 'skiff-demo:v1', replicas: 2 })).status,
        201,
      );
      const states = async () => {
        const res = await f.call('GET', '/api/services?limit=100');
        assert.equal(res.headers.get('content-type'), 'application/json');
        const [web] = res.body as { containers: { status: string }[] }[];
        return web?.containers.map((c) => c.status);
      };
      assert.deepEqual(await states(), ['assigned', 'assigned']);
      reportAssigned(f, node, 'running');
      assert.deepEqual(await states(), ['running', 'running']);
      assert.deepEqual(await states(), ['running', 'running']);
      reportAssigned(f, node, 'exited', 'exit 1', (id) => id === node.lastAssign()?.tasks[0]?.task_id);
      assert.deepEqual(await states(), ['exited', 'running']);
    } finally {
      f.close();
    }
  });
});
