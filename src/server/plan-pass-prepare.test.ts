/**
 * planPass and failover preparation (prepare-plan.ts), on snapshots built by hand: a silent node's
 * replicas are prepared on the nodes they would move to, held there across passes, counted
 * against those nodes' room, started where they wait when the node is called down, and dropped
 * when it comes back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENT_FEATURES, FEATURES } from '../protocol/features.ts';
import type { StoredService } from '../store/store.ts';
import { DEFAULT_LIVENESS } from './node-liveness.ts';
import {
  node as baseNode,
  service as baseService,
  NOW,
  snapshot,
  task,
  ids as taskIds,
} from './pass-fixture.ts';
import type { PassNode, PassSnapshot } from './pass-snapshot.ts';
import { specKey } from './pass-snapshot.ts';
import type { PassPlan } from './plan-pass.ts';
import { planPass } from './plan-pass.ts';
import { notPreparable } from './prepare-plan.ts';

/** Spread, with a port: the services whose replicas a failover prepares. */
const service = (name: string, replicas: number, extra: Record<string, unknown> = {}): StoredService =>
  baseService(name, replicas, {
    placement: { strategy: 'spread' },
    ports: [{ container_port: 8080 }],
    ...extra,
  });
const node = (id: string, overrides: Partial<PassNode> = {}): PassNode =>
  baseNode(id, { address: `10.0.0.${id.charCodeAt(0) - 96}`, ...overrides });
const ids = (prefix = 'p') => taskIds(prefix);

/** Its link dropped a moment ago: unreachable, inside the grace. */
const silentNode = (id: string) => node(id, { connected: false, lastSeen: NOW - 100 });
/** Silent past the grace: down. */
const deadNode = (id: string) =>
  node(id, { connected: false, lastSeen: NOW - DEFAULT_LIVENESS.downAfterMs - 1 });

/** What each target was sent to prepare: node → task ids. */
function prepared(plan: PassPlan): Record<string, string[]> {
  return Object.fromEntries(plan.prepares.map((p) => [p.nodeId, p.tasks.map((t) => t.task_id)]));
}

/** Nodes as the applier leaves them: sent what the plan sent. */
function sent(nodes: readonly PassNode[], plan: PassPlan): PassNode[] {
  return nodes.map((n) => {
    const prepare = plan.prepares.find((p) => p.nodeId === n.id);
    const assignment = plan.assignments.find((a) => a.nodeId === n.id);
    const status = plan.statusChanges.find((c) => c.id === n.id)?.to ?? n.status;
    const endpoints = plan.endpoints;
    const sentEndpoints =
      endpoints &&
      (endpoints.nodeIds.includes(n.id) || endpoints.deltas.some((d) => d.nodeIds.includes(n.id)));
    return {
      ...n,
      status,
      ...(prepare ? { sentPrepared: prepare.key } : {}),
      ...(assignment ? { sentAssignment: assignment.key } : {}),
      ...(sentEndpoints ? { sentEndpoints: endpoints.generation } : {}),
    };
  });
}

// Six replicas spread over three nodes, two each; node c goes silent.
const web = service('web', 6);
const tasks = [
  task('w0', 'web', 0, 'a'),
  task('w1', 'web', 1, 'b'),
  task('w2', 'web', 2, 'c'),
  task('w3', 'web', 3, 'a'),
  task('w4', 'web', 4, 'b'),
  task('w5', 'web', 5, 'c'),
];

test("a silent node's replicas are prepared where they would go, and nothing else changes", () => {
  const plan = planPass(snapshot([web], tasks, [node('a'), node('b'), silentNode('c')]), NOW, ids());
  assert.deepEqual(plan.statusChanges, [{ id: 'c', from: 'ready', to: 'unreachable' }]);
  assert.deepEqual(plan.insert, [], 'no task is made before the node is down');
  assert.deepEqual(
    plan.update.filter((u) => u.desiredState !== undefined),
    [],
    'nothing is told to stop',
  );
  const preparations = [...(plan.memory.preparations ?? new Map()).values()];
  assert.deepEqual(
    preparations.map((p) => [p.sourceTaskId, p.slot, p.nodeId]).sort(),
    [
      ['w2', 2, 'a'],
      ['w5', 5, 'b'],
    ],
    'spread: one to each other node',
  );
  assert.deepEqual(prepared(plan), { a: ['p000'], b: ['p001'] });
  const spec = plan.prepares.find((p) => p.nodeId === 'a')?.tasks[0];
  assert.equal(spec?.service, 'web');
  assert.equal(spec?.slot, 2);
  assert.equal(spec?.spec.image, 'skiff-demo:v1');
  assert.ok((spec?.networks.length ?? 0) > 0, 'with the networks the container is created on');
});

test('preparations stay where they are over later passes, and are sent once', () => {
  const nodes = [node('a'), node('b'), silentNode('c')];
  const first = planPass(snapshot([web], tasks, nodes), NOW, ids());
  const second = planPass(snapshot([web], tasks, sent(nodes, first), first.memory), NOW + 250, ids('q'));
  assert.deepEqual(second.prepares, [], 'the same sets: nothing sent again');
  assert.deepEqual(
    [...(second.memory.preparations?.values() ?? [])].map((p) => p.taskId).sort(),
    ['p000', 'p001'],
    'the same replacement ids: no container is remade',
  );
});

/** The snapshot after `plan` was written: with the indices it allocated. */
function written(snap: PassSnapshot, plan: PassPlan): PassSnapshot {
  return { ...snap, allocations: [...snap.allocations, ...plan.allocate] };
}

test('inside the grace, a pass that only keeps what was prepared and sent is quiet until the grace ends', () => {
  const nodes = [node('a'), node('b'), silentNode('c')];
  const first = planPass(snapshot([web], tasks, nodes), NOW, ids());
  assert.equal(first.quietUntil, NOW, 'the first prepares and sends: not quiet');
  const graceEnds = NOW - 100 + DEFAULT_LIVENESS.downAfterMs;
  assert.equal(first.downAt, graceEnds);
  // The ready nodes have beaten since: their silence is past the grace's end.
  const beaten = sent(nodes, first).map((n) => (n.id === 'c' ? n : { ...n, lastSeen: NOW + 2000 }));
  const second = planPass(written(snapshot([web], tasks, beaten, first.memory), first), NOW + 250, ids('q'));
  assert.deepEqual(second.prepares, []);
  assert.equal(second.memory.preparations?.size, 2, 'still prepared');
  assert.equal(second.quietUntil, graceEnds, 'quiet until the pass at the grace’s end');
  // A ready node's silence ends the quiet sooner (it would turn unreachable then).
  const third = planPass(
    written(snapshot([web], tasks, sent(nodes, first), first.memory), first),
    NOW + 250,
    ids('r'),
  );
  assert.equal(third.quietUntil, NOW + DEFAULT_LIVENESS.heartbeatTimeoutMs);
  // A target that was not sent its set yet (a new link): sent, so not quiet.
  const relinked = beaten.map((n) => (n.id === 'a' ? { ...n, sentPrepared: undefined } : n));
  const fourth = planPass(
    written(snapshot([web], tasks, relinked, first.memory), first),
    NOW + 250,
    ids('s'),
  );
  assert.deepEqual(Object.keys(prepared(fourth)), ['a']);
  assert.equal(fourth.quietUntil, NOW + 250);
});

test('inside the grace, a replica with no room to be prepared keeps no pass from being quiet', () => {
  // a is full: c's replica cannot be prepared anywhere, now or later on the same inputs.
  const nodes = [node('a', { cpuMillicores: 500 }), silentNode('c')];
  const small = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'c')];
  const one = service('web', 2);
  const first = planPass(snapshot([one], small, nodes), NOW, ids());
  assert.equal(first.memory.preparations?.size ?? 0, 0, 'nothing prepared');
  const later = sent(nodes, first).map((n) => (n.id === 'a' ? { ...n, lastSeen: NOW + 2000 } : n));
  const second = planPass(written(snapshot([one], small, later, first.memory), first), NOW + 250, ids('q'));
  assert.equal(second.quietUntil, NOW - 100 + DEFAULT_LIVENESS.downAfterMs);
});

test('called down: each prepared replacement becomes its slot’s task where it waits, and is only started', () => {
  const nodes = [node('a'), node('b'), silentNode('c')];
  const first = planPass(snapshot([web], tasks, nodes), NOW, ids());
  const later = sent(nodes, first).map((n) => (n.id === 'c' ? { ...deadNode('c'), status: n.status } : n));
  const plan = planPass(snapshot([web], tasks, later, first.memory), NOW, ids('q'));
  assert.deepEqual(plan.statusChanges, [{ id: 'c', from: 'unreachable', to: 'down' }]);
  assert.deepEqual(
    plan.insert.map((t) => [t.id, t.slot, t.nodeId]).sort(),
    [
      ['p000', 2, 'a'],
      ['p001', 5, 'b'],
    ],
    'the prepared ids, on the prepared nodes: no new task, no scheduling',
  );
  assert.ok(
    plan.events.some(
      (e) => e.message === 'Rescheduling web-2: node c is down; starting its replacement prepared on a',
    ),
  );
  assert.ok(!plan.events.some((e) => e.message.startsWith('Scheduled ')), 'nothing placed anew');
  const onA = plan.assignments.find((a) => a.nodeId === 'a');
  assert.ok(
    onA?.tasks.some((t) => t.task_id === 'p000'),
    'assigned where it was prepared',
  );
  assert.deepEqual(prepared(plan), { a: [], b: [] }, 'no longer prepared: it is assigned');
  assert.equal(plan.memory.preparations?.size ?? 0, 0);
});

test('back within the grace: the preparations are dropped and the targets told', () => {
  const nodes = [node('a'), node('b'), silentNode('c')];
  const first = planPass(snapshot([web], tasks, nodes), NOW, ids());
  const back = sent(nodes, first).map((n) => (n.id === 'c' ? node('c', { status: 'unreachable' }) : n));
  const plan = planPass(snapshot([web], tasks, back, first.memory), NOW + 1000, ids('q'));
  assert.deepEqual(plan.statusChanges, [{ id: 'c', from: 'unreachable', to: 'ready' }]);
  assert.deepEqual(plan.insert, []);
  assert.deepEqual(prepared(plan), { a: [], b: [] });
  assert.equal(plan.memory.preparations?.size ?? 0, 0);
});

test('a fixed host port, a volume, secrets, a global service: not prepared (they start from zero when moved)', () => {
  const cases = [
    service('hp', 1, { ports: [{ container_port: 80, host_port: 8081 }] }),
    service('vol', 1, { volumes: [{ source: 'data', target: '/d' }] }),
    service('sec', 1, { secrets: [{ name: 's' }] }),
    service('glob', 1, { mode: 'global' }),
  ];
  for (const stored of cases) assert.notEqual(notPreparable(stored.spec), null, stored.spec.name);
  assert.equal(notPreparable(web.spec), null);
  const silentTasks = cases.map((s, i) => task(`x${i}`, s.spec.name, 0, 'c'));
  const plan = planPass(snapshot(cases, silentTasks, [node('a'), silentNode('c')]), NOW, ids());
  assert.equal(plan.memory.preparations?.size ?? 0, 0);
});

test('only agents that can prepare are targets; a rollout’s outdated replicas are not prepared', () => {
  const older = new Set(AGENT_FEATURES.filter((f) => f !== FEATURES.preparedReplicas));
  const plan = planPass(
    snapshot([web], tasks, [node('a'), node('b', { features: older }), silentNode('c')]),
    NOW,
    ids(),
  );
  assert.deepEqual(
    [...(plan.memory.preparations?.values() ?? [])].map((p) => p.nodeId),
    ['a', 'a'],
    'both on a (spread has nowhere else)',
  );
  assert.deepEqual(Object.keys(prepared(plan)), ['a'], 'the older agent is sent no prepare message');
  // A rollout to revision 2 under way: the silent node's outdated replica is not prepared (the
  // reconciler replaces it with the new revision), its current one is.
  const rolling: StoredService = {
    ...web,
    revision: 2,
    rollout: {
      state: 'in_progress',
      from_revision: 1,
      to_revision: 2,
      started_at: '',
      finished_at: null,
      message: null,
    },
  };
  const mixed = tasks.map((t) => (t.id === 'w5' ? { ...t, revision: 2 } : t));
  const base = snapshot([rolling], mixed, [node('a'), node('b'), silentNode('c')]);
  const specs = new Map(base.specs);
  specs.set(specKey('web', 1), web.spec);
  const during = planPass({ ...base, specs }, NOW, ids());
  assert.deepEqual(
    [...(during.memory.preparations?.keys() ?? [])],
    ['w5'],
    'only the replica at the revision the service runs',
  );
});

test('a preparation holds its room on its target: other placements see it taken', () => {
  // a has room for one more 0.5-cpu replica; c's is prepared there, so a new service goes pending.
  const nodes = [node('a', { cpuMillicores: 1000 }), silentNode('c')];
  const small = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'c')];
  const one = service('web', 2);
  const first = planPass(snapshot([one], small, nodes), NOW, ids());
  assert.deepEqual(
    [...(first.memory.preparations?.values() ?? [])].map((p) => p.nodeId),
    ['a'],
  );
  const other = service('api', 1);
  const second = planPass(
    snapshot([one, other], small, sent(nodes, first), first.memory),
    NOW + 250,
    ids('q'),
  );
  const api = second.insert.find((t) => t.service === 'api');
  assert.equal(api?.nodeId, null, 'no room left on a');
  assert.match(api?.pendingReason ?? '', /cpu/i);
});

test('the same snapshot and ids: the same preparations', () => {
  const nodes = [node('a'), node('b'), silentNode('c')];
  const one = planPass(snapshot([web], tasks, nodes), NOW, ids());
  const two = planPass(snapshot([web], [...tasks].reverse(), [...nodes].reverse()), NOW, ids());
  assert.deepEqual([...(one.memory.preparations ?? [])].sort(), [...(two.memory.preparations ?? [])].sort());
  assert.deepEqual(one.prepares, two.prepares);
});
