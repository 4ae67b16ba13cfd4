/**
 * planPass on snapshots built by hand: no SQLite, no sockets. What a pass decides for a new
 * service, a down node and a converged cluster, and that the plan does not depend on the order
 * the rows were read in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskRecord } from '../model/task.ts';
import type { EndpointSet } from '../net/data-plane/endpoints-delta.ts';
import { EMPTY_ENDPOINT_SET, fullSet, mergeEndpoints } from '../net/data-plane/endpoints-delta.ts';
import { AGENT_FEATURES, FEATURES } from '../protocol/features.ts';
import { seededRandom } from '../sim/random.ts';
import { DEFAULT_LIVENESS, livenessFor } from './node-liveness.ts';
import { ids, NOW, node, running, service, snapshot, task } from './pass-fixture.ts';
import type { PassNode, PassSnapshot } from './pass-snapshot.ts';
import type { PassPlan } from './plan-pass.ts';
import { ENDPOINTS_MIN_INTERVAL_MS, endpointsIntervalMs, planPass } from './plan-pass.ts';

/** A seeded shuffle (mulberry32), so a failure replays. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

test('a new service: its replicas are created, placed, assigned and published in one plan', () => {
  const plan = planPass(snapshot([service('web', 3)], [], [node('a'), node('b')]), NOW, ids());
  assert.deepEqual(
    plan.insert.map((t) => [t.id, t.slot]),
    [
      ['t000', 0],
      ['t001', 1],
      ['t002', 2],
    ],
  );
  assert.ok(
    plan.insert.every((t) => t.nodeId === 'a' || t.nodeId === 'b'),
    'inserted already placed',
  );
  assert.equal(plan.update.length, 0);
  assert.equal(plan.events.filter((e) => e.message.startsWith('Scheduled web-')).length, 3);
  assert.deepEqual(plan.assignments.map((a) => a.nodeId).sort(), ['a', 'b']);
  assert.equal(
    plan.assignments.reduce((n, a) => n + a.tasks.length, 0),
    3,
  );
  assert.deepEqual(
    plan.assignments.map((a) => a.generation),
    [101, 102],
  );
  assert.equal(plan.endpoints?.generation, 201);
  assert.deepEqual(plan.endpoints?.nodeIds, ['a', 'b']);
  assert.equal(plan.memory.assignGeneration, 102);
});

test('a converged cluster: a pass over what the last one sent sends nothing and writes nothing', () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const first = planPass(snapshot(services, tasks, [node('a'), node('b')]), NOW, ids());
  assert.equal(first.insert.length + first.update.length + first.forget.length, 0);
  assert.equal(first.assignments.length, 2);
  const sent = (id: string) => first.assignments.find((a) => a.nodeId === id)?.key;
  const nodes = [
    node('a', { sentAssignment: sent('a'), sentEndpoints: first.endpoints?.generation }),
    node('b', { sentAssignment: sent('b'), sentEndpoints: first.endpoints?.generation }),
  ];
  const second = planPass({ ...snapshot(services, tasks, nodes), memory: first.memory }, NOW + 250, ids());
  assert.deepEqual(second.assignments, []);
  assert.equal(second.endpoints, undefined);
  assert.deepEqual(second.events, []);
  // One node's replica is told to stop (scale down): only that node hears of it.
  const scaled = [{ ...service('web', 1) }];
  const third = planPass({ ...snapshot(scaled, tasks, nodes), memory: first.memory }, NOW + 500, ids());
  assert.deepEqual(third.update, [{ id: 'w1', desiredState: 'shutdown' }]);
  assert.deepEqual(
    third.assignments.map((a) => [a.nodeId, a.tasks.length]),
    [['b', 0]],
  );
});

test("each task carries its service's admission, and a policy change re-sends only its nodes", () => {
  const services = [service('web', 1), service('db', 1)];
  const tasks = [task('w0', 'web', 0, 'a'), task('d0', 'db', 0, 'b')];
  const first = planPass(snapshot(services, tasks, [node('a'), node('b')]), NOW, ids());
  const admissions = first.assignments.flatMap((a) => a.tasks.map((t) => [t.service, t.admission]));
  assert.deepEqual(admissions.sort(), [
    ['db', { mode: 'baseline', allow: [] }],
    ['web', { mode: 'baseline', allow: [] }],
  ]);
  const sent = (id: string) => first.assignments.find((a) => a.nodeId === id)?.key;
  const nodes = [node('a', { sentAssignment: sent('a') }), node('b', { sentAssignment: sent('b') })];
  const policy = { mode: 'baseline' as const, exceptions: { web: ['cap:NET_ADMIN'] } };
  const second = planPass(
    { ...snapshot(services, tasks, nodes), policy, memory: first.memory },
    NOW + 250,
    ids(),
  );
  assert.deepEqual(
    second.assignments.map((a) => [a.nodeId, a.tasks[0]?.admission]),
    [['a', { mode: 'baseline', allow: ['cap:NET_ADMIN'] }]],
  );
});

test('a node silent past the grace is down: its replicas are written off and placed elsewhere', () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const silent = node('b', { connected: false, lastSeen: NOW - DEFAULT_LIVENESS.downAfterMs - 1 });
  const plan = planPass(snapshot(services, tasks, [node('a'), silent, node('c')]), NOW, ids());
  assert.deepEqual(plan.statusChanges, [{ id: 'b', from: 'ready', to: 'down' }]);
  assert.deepEqual(plan.forget, ['w1'], 'written off (shut down, no container) and forgotten at once');
  assert.deepEqual(
    plan.insert.map((t) => [t.slot, t.nodeId]),
    [[1, 'c']],
    'the slot is filled on a node without the service',
  );
  assert.deepEqual(
    plan.events.map((e) => e.message),
    [
      `Node b is down (silent for ${DEFAULT_LIVENESS.downAfterMs / 1000}s): its replicas are rescheduled`,
      'Rescheduling web-1: node b is down',
      'Scheduled web-1 on c',
    ],
  );
  assert.deepEqual([...(plan.memory.failures.get('web')?.keys() ?? [])], ['b']);
  assert.ok(!plan.assignments.some((a) => a.nodeId === 'b'), 'nothing is sent to a disconnected node');
});

test('a plan says when the first unreachable node turns down, so the loop runs a pass then', () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const dropped = (id: string, agoMs: number) =>
    node(id, { status: 'unreachable', connected: false, lastSeen: NOW - agoMs });
  const nodes = [node('a'), dropped('b', 1000), dropped('c', 2500)];
  const plan = planPass(snapshot(services, tasks, nodes), NOW, ids());
  assert.equal(plan.downAt, NOW - 2500 + DEFAULT_LIVENESS.downAfterMs, "the earlier grace's end");
  const calm = planPass(snapshot(services, tasks, [node('a'), node('b')]), NOW, ids());
  assert.equal(calm.downAt, undefined, 'none unreachable: nothing to wait for');
});

test("a down node's replica pinned to its volume waits there with the reason; a move starts it elsewhere", () => {
  const volumes = [{ source: 'data-{{.Task.Slot}}', target: '/d' }];
  const services = [service('db', 2, { volumes })];
  const tasks = [task('d0', 'db', 0, 'a'), task('d1', 'db', 1, 'b')];
  const silent = node('b', { connected: false, lastSeen: NOW - DEFAULT_LIVENESS.downAfterMs - 1 });
  const located = new Map([
    ['data-0', ['a']],
    ['data-1', ['b']],
  ]);
  const base = snapshot(services, tasks, [node('a'), silent, node('c')]);
  const plan = planPass({ ...base, volumes: { located, moves: new Map() } }, NOW, ids());
  const reason =
    'volume data-1 is on b (node down; skiff volume move data-1 --to NODE starts it elsewhere, empty)';
  assert.deepEqual(
    plan.insert.map((t) => [t.slot, t.nodeId, t.pendingReason]),
    [[1, null, reason]],
    'not started empty on a or c',
  );
  assert.ok(plan.events.some((e) => e.message === `Replica db-1 is pending: ${reason}`));
  const moved = planPass({ ...base, volumes: { located, moves: new Map([['data-1', 'c']]) } }, NOW, ids());
  assert.deepEqual(
    moved.insert.map((t) => [t.slot, t.nodeId]),
    [[1, 'c']],
  );
});

test('the plan is the same whatever order services, tasks, nodes and allocations are read in', () => {
  const services = [
    service('api', 4),
    service('web', 3, { placement: { strategy: 'spread' } }),
    service('db', 1, { ports: [{ container_port: 5432, host_port: 5432 }] }),
    service('worker', 6, { resources: { cpus: 1, memory_mb: 512 } }),
  ];
  const tasks = [
    task('a0', 'api', 0, 'n1'),
    task('a1', 'api', 1, 'n2'),
    task('a2', 'api', 2, null, false),
    task('w0', 'web', 0, 'n3'),
    { ...task('w0-old', 'web', 0, 'n1'), desiredState: 'shutdown' as const },
    { ...task('w1', 'web', 1, 'n4'), observed: null },
    task('d0', 'db', 0, 'n5'),
    task('k0', 'worker', 0, 'n2'),
    task('k1', 'worker', 1, 'n2'),
    task('gone0', 'removed', 0, 'n1'),
  ];
  const nodes = [
    node('n1'),
    node('n2', { availability: 'draining' }),
    node('n3', { cpuMillicores: 1000 }),
    node('n4', { connected: false, lastSeen: NOW - 60_000 }),
    node('n5', { labels: { zone: 'b' } }),
    node('n6', { availability: 'cordoned' }),
    node('n7', { connected: false, lastSeen: NOW - 1000 }),
  ];
  const base = snapshot(services, tasks, nodes);
  const reference = planPass(base, NOW, ids());
  assert.ok(reference.insert.length > 0 && reference.update.length > 0 && reference.forget.length > 0);
  for (let seed = 1; seed <= 50; seed++) {
    const reordered: PassSnapshot = {
      ...base,
      services: shuffled(base.services, seed),
      tasks: shuffled(base.tasks, seed * 7),
      nodes: shuffled(base.nodes, seed * 13),
      allocations: shuffled(base.allocations, seed * 17),
      specs: new Map(shuffled([...base.specs], seed * 19)),
    };
    const plan: PassPlan = planPass(reordered, NOW, ids());
    assert.deepEqual(plan, reference, `seed ${seed}`);
  }
});

test('the snapshot is never mutated', () => {
  const services = [service('web', 3)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w5', 'web', 5, 'a')];
  const nodes = [node('a'), node('b', { connected: false, lastSeen: NOW - 60_000 })];
  const base = snapshot(services, tasks, nodes);
  const before = JSON.stringify({ ...base, specs: [...base.specs] });
  planPass(base, NOW, ids());
  assert.equal(JSON.stringify({ ...base, specs: [...base.specs] }), before);
});

test('each node is judged by the heartbeat interval it was told', () => {
  const slow = livenessFor(DEFAULT_LIVENESS, 500, 4000);
  const silent5s = { lastSeen: NOW - 5000 };
  const plan = planPass(
    snapshot([], [], [node('fast', silent5s), node('slow', { ...silent5s, liveness: slow })]),
    NOW,
    ids(),
  );
  assert.deepEqual(plan.statusChanges, [{ id: 'fast', from: 'ready', to: 'down' }]);
});

test('endpoints: a new generation only when who serves changes, however often records are replaced', () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const nodes = [node('a'), node('b')];
  const first = planPass(snapshot(services, tasks, nodes), NOW, ids());
  const generation = first.memory.endpointsGeneration;
  const sent = nodes.map((n) => ({ ...n, sentEndpoints: generation }));
  const restarted = { ...tasks[1], observed: { ...running('w1'), restart_count: 1 } } as TaskRecord;
  const same = planPass(
    { ...snapshot(services, [tasks[0] as TaskRecord, restarted], sent), memory: first.memory },
    NOW + 250,
    ids(),
  );
  assert.equal(same.memory.endpointsGeneration, generation, 'a new record saying the same');
  assert.equal(same.endpoints, undefined);
  const sick = { ...restarted, observed: { ...running('w1'), health: 'unhealthy' as const } };
  const changed = planPass(
    { ...snapshot(services, [tasks[0] as TaskRecord, sick], sent), memory: same.memory },
    NOW + 500,
    ids(),
  );
  assert.equal(changed.memory.endpointsGeneration, generation + 1);
  const [delta] = changed.endpoints?.deltas ?? [];
  assert.deepEqual(delta?.services, [], 'the service is as the agents hold it but its backends');
  assert.deepEqual(
    delta?.patched,
    [{ name: 'web', backends: [], removed: ['w1'] }],
    'only the backend that left (endpoints-backend-delta)',
  );
  assert.deepEqual(delta?.nodeIds, ['a', 'b'], 'both were sent the last generation: a delta from it');
  assert.equal(delta?.base, generation);
  assert.deepEqual(changed.endpoints?.nodeIds, [], 'no one needs the whole set');
});

test('endpoints: a replica joining waits out the interval; one told to stop leaves at once', () => {
  const services = [service('web', 3)];
  const base = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b'), task('w2', 'web', 2, 'a', false)];
  const nodes = [node('a'), node('b')];
  const first = planPass(snapshot(services, base, nodes), NOW, ids());
  const generation = first.memory.endpointsGeneration;
  const sent = nodes.map((n) => ({ ...n, sentEndpoints: generation }));
  const joined = [...base.slice(0, 2), task('w2', 'web', 2, 'a')];
  const soon = planPass({ ...snapshot(services, joined, sent), memory: first.memory }, NOW + 50, ids());
  assert.equal(soon.memory.endpointsGeneration, generation, 'deferred within the interval');
  assert.equal(soon.endpoints, undefined);
  const later = planPass(
    { ...snapshot(services, joined, sent), memory: soon.memory },
    NOW + ENDPOINTS_MIN_INTERVAL_MS,
    ids(),
  );
  assert.equal(later.memory.endpointsGeneration, generation + 1);
  assert.deepEqual(
    later.endpoints?.deltas[0]?.patched?.[0]?.backends.map((b) => b.task_id),
    ['w2'],
    'only the backend that joined',
  );
  const laterSent = nodes.map((n) => ({ ...n, sentEndpoints: generation + 1 }));
  const scaled = [service('web', 2)];
  const stop = planPass(
    { ...snapshot(scaled, joined, laterSent), memory: later.memory },
    NOW + ENDPOINTS_MIN_INTERVAL_MS + 10,
    ids(),
  );
  assert.equal(stop.memory.endpointsGeneration, generation + 2, 'a stop is not deferred');
  assert.deepEqual(stop.endpoints?.deltas[0]?.patched, [{ name: 'web', backends: [], removed: ['w2'] }]);
});

test('endpoints: a node known before a restart serves its replicas until its startup grace ends', () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const graceEnds = NOW + 10_000;
  // Just restarted: a is back, b's agent has not reconnected yet; both were known before.
  const nodes = [
    node('a', { downNotBefore: graceEnds }),
    node('b', { status: 'unreachable', connected: false, lastSeen: NOW - 1000, downNotBefore: graceEnds }),
  ];
  const early = planPass(snapshot(services, tasks, nodes), NOW, ids());
  assert.deepEqual(
    early.endpoints?.services[0]?.backends.map((b) => b.task_id),
    ['w0', 'w1'],
    'b’s replica stays in the set while b may still come back',
  );
  assert.deepEqual(early.endpoints?.nodeIds, ['a'], 'only connected nodes are sent it');
  const lateNow = graceEnds + ENDPOINTS_MIN_INTERVAL_MS;
  const sent = [
    { ...(nodes[0] as PassNode), lastSeen: lateNow, sentEndpoints: early.memory.endpointsGeneration },
    nodes[1] as PassNode,
  ];
  const late = planPass({ ...snapshot(services, tasks, sent), memory: early.memory }, lateNow, ids());
  assert.deepEqual(
    late.memory.endpoints?.published.get('web')?.entry.backends.map((b) => b.task_id),
    ['w0'],
    'past the grace, a node still away serves nothing',
  );
});

test('a global service: one replica pinned to each eligible node, none moved when a node leaves', () => {
  const services = [service('logs', 1, { mode: 'global', placement: { constraints: ['tier!=edge'] } })];
  const nodes = [node('a'), node('b'), node('c', { labels: { tier: 'edge' } })];
  const first = planPass(snapshot(services, [], nodes), NOW, ids());
  const created = first.insert.map((t) => [t.slot, t.nodeId]);
  assert.deepEqual(created, [
    [0, 'a'],
    [1, 'b'],
  ]);
  const tasks = first.insert.map((t) => ({ ...t, observed: running(t.id) }));
  const drained = planPass(
    snapshot(services, tasks, [node('a'), node('b', { availability: 'draining' }), nodes[2] as PassNode]),
    NOW + 1000,
    ids(),
  );
  assert.deepEqual(drained.insert, [], 'nothing takes the drained node’s place');
  assert.deepEqual(
    drained.update.filter((u) => u.desiredState === 'shutdown').map((u) => u.id),
    [tasks[1]?.id],
  );
});

test('the pace of endpoint sets follows what they cost to send to every node', () => {
  assert.equal(endpointsIntervalMs(1000 * 3), ENDPOINTS_MIN_INTERVAL_MS);
  assert.equal(endpointsIntervalMs(113_000 * 100), 108);
  assert.equal(endpointsIntervalMs(13_000 * 1000), 124, 'a delta of ten services to 1,000 nodes');
  const at1000 = endpointsIntervalMs(1_300_000 * 1000);
  assert.ok(at1000 > 12_000 && at1000 < 13_000, `${at1000} ms`);
  assert.equal(endpointsIntervalMs(300 * 400, 400), ENDPOINTS_MIN_INTERVAL_MS, 'a patch to 400 nodes');
  assert.equal(endpointsIntervalMs(300 * 1000, 1000), 250, 'a patch to 1,000 nodes: 4,000 messages a second');
});

test('endpoints: every node’s address goes with them, and a node joining is sent at once', () => {
  const services = [service('web', 1)];
  const tasks = [task('w0', 'web', 0, 'a')];
  const nodes = [node('a', { address: '10.0.0.1' }), node('bb', { address: '10.0.0.2', status: 'down' })];
  const first = planPass(snapshot(services, tasks, nodes), NOW, ids());
  assert.deepEqual(
    first.endpoints?.peers,
    ['10.0.0.1', '10.0.0.2'],
    'any status: a node coming back is let in',
  );
  const generation = first.memory.endpointsGeneration;
  const sent = nodes.map((n) => ({ ...n, sentEndpoints: generation }));
  const joined = [...sent, node('ccc', { address: '10.0.0.3' })];
  const next = planPass({ ...snapshot(services, tasks, joined), memory: first.memory }, NOW + 50, ids());
  assert.equal(next.memory.endpointsGeneration, generation + 1, 'not deferred by the interval');
  assert.deepEqual(next.endpoints?.peers, ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  assert.deepEqual(next.endpoints?.nodeIds, ['ccc'], 'the new node gets the whole set');
  assert.deepEqual(
    next.endpoints?.deltas.map((d) => [d.nodeIds, d.services.length, d.peers]),
    [[['a', 'bb'], 0, ['10.0.0.1', '10.0.0.2', '10.0.0.3']]],
    'the others: only the addresses',
  );
});

test('endpoints: what each agent holds after merging its deltas (whole services or backend patches) is the whole set, over 100 seeded runs', () => {
  const withoutDeltas = new Set(AGENT_FEATURES.filter((f) => f !== FEATURES.endpointsDelta));
  const withoutPatches = new Set(AGENT_FEATURES.filter((f) => f !== FEATURES.endpointsBackendDelta));
  // A merged service's backends may come in another order than the whole set lists them.
  const inTaskOrder = (set: EndpointSet | undefined): EndpointSet | undefined =>
    set && {
      ...set,
      services: set.services.map((s) => ({
        ...s,
        backends: [...s.backends].sort((a, b) =>
          a.task_id < b.task_id ? -1 : a.task_id > b.task_id ? 1 : 0,
        ),
      })),
    };
  for (let seed = 1; seed <= 100; seed++) {
    const random = seededRandom(seed);
    const pool = ['api', 'db', 'web', 'worker', 'zeta'];
    // n5 is an older agent: it is sent the whole set every time; n4 takes deltas of whole
    // services, not patches of their backends.
    let nodes = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id) =>
      node(id, id === 'n5' ? { features: withoutDeltas } : id === 'n4' ? { features: withoutPatches } : {}),
    );
    const held = new Map<string, EndpointSet>();
    let memory: PassSnapshot['memory'] | undefined;
    let now = NOW;
    for (let step = 0; step < 40; step++) {
      now += Math.floor(random() * 300);
      const services = pool.filter(() => random() < 0.7).map((name) => service(name, 3));
      const tasks = services.flatMap((s) =>
        [0, 1, 2].map((slot) => {
          const on = nodes[Math.floor(random() * nodes.length)]?.id ?? 'n1';
          return task(`${s.spec.name}-${slot}-${on}`, s.spec.name, slot, on, random() < 0.8);
        }),
      );
      // Now and then a node drops (and is sent the whole set when back) or moves address.
      nodes = nodes.map((n) => {
        const roll = random();
        if (roll < 0.05) return { ...n, connected: false, sentEndpoints: undefined, lastSeen: now };
        if (roll < 0.15 && !n.connected) return { ...n, connected: true, lastSeen: now };
        if (roll < 0.17) return { ...n, address: `10.1.0.${Math.floor(random() * 9)}`, lastSeen: now };
        return { ...n, lastSeen: now };
      });
      const base = snapshot(services, tasks, nodes);
      const plan = planPass({ ...base, memory: memory ?? base.memory }, now, ids());
      memory = plan.memory;
      const sent = plan.endpoints;
      if (sent) {
        for (const id of sent.nodeIds) held.set(id, fullSet(sent.generation, sent.services, sent.peers));
        for (const delta of sent.deltas)
          for (const id of delta.nodeIds) {
            const outcome = mergeEndpoints(held.get(id) ?? EMPTY_ENDPOINT_SET, {
              generation: sent.generation,
              baseGeneration: delta.base,
              services: delta.services,
              removed: delta.removed,
              peers: delta.peers,
              patched: delta.patched,
            });
            if (delta.nodeIds.includes('n4')) assert.equal(delta.patched, undefined, 'n4 takes no patches');
            assert.equal(outcome.kind, 'applied', `seed ${seed} step ${step}: ${id}'s delta follows its set`);
            if (outcome.kind === 'applied') held.set(id, outcome.set);
          }
        const recipients = new Set([...sent.nodeIds, ...sent.deltas.flatMap((d) => d.nodeIds)]);
        nodes = nodes.map((n) => (recipients.has(n.id) ? { ...n, sentEndpoints: sent.generation } : n));
        assert.ok(!sent.deltas.some((d) => d.nodeIds.includes('n5')), 'the older agent gets no delta');
      }
      const whole = fullSet(
        memory.endpointsGeneration,
        [...(memory.endpoints?.published.values() ?? [])].map((p) => p.entry),
        memory.endpoints?.peers,
      );
      for (const n of nodes)
        if (n.connected)
          assert.deepEqual(
            inTaskOrder(held.get(n.id)),
            inTaskOrder(whole),
            `seed ${seed} step ${step}: ${n.id}`,
          );
    }
  }
});

test('endpoints: a fresh memory (leading again) sends the whole set, even to a node sent an older generation', () => {
  const services = [service('web', 1)];
  const tasks = [task('w0', 'web', 0, 'a')];
  const base = snapshot(services, tasks, [node('a', { sentEndpoints: 150 })]);
  const plan = planPass(base, NOW, ids());
  assert.deepEqual(plan.endpoints?.nodeIds, ['a'], 'what the node holds is not known: no delta');
  assert.deepEqual(plan.endpoints?.deltas, []);
});

test('quiet: a pass that decided nothing is quiet until the first ready node could be silent; one that did, or waits on time, is not', () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const first = planPass(snapshot(services, tasks, [node('a'), node('b')]), NOW, ids());
  assert.equal(first.quietUntil, NOW, 'it sent assignments and endpoints');
  const sent = (id: string) => first.assignments.find((a) => a.nodeId === id)?.key;
  // What the store holds once the first plan is written: the network it allocated too.
  const after = (nodes: readonly PassNode[], taskList = tasks, serviceList = services): PassSnapshot => {
    const base = snapshot(serviceList, taskList, nodes, first.memory);
    return { ...base, allocations: [...base.allocations, ...first.allocate] };
  };
  const synced = (id: string, lastSeen: number) =>
    node(id, { sentAssignment: sent(id), sentEndpoints: first.endpoints?.generation, lastSeen });
  const nodes = [synced('a', NOW - 200), synced('b', NOW - 100)];
  const second = planPass(after(nodes), NOW + 250, ids());
  assert.equal(second.quietUntil, NOW - 200 + DEFAULT_LIVENESS.heartbeatTimeoutMs);
  // A down node waits on nothing; an unreachable one waits out its grace.
  const down = [synced('a', NOW), node('b', { status: 'down', connected: false, lastSeen: 0 })];
  const onA = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'a')];
  const third = planPass(after(down, onA), NOW + 250, ids());
  assert.equal(third.assignments.length, 1, 'a was sent its second replica');
  const aSynced = {
    ...synced('a', NOW),
    sentAssignment: third.assignments[0]?.key,
    sentEndpoints: third.endpoints?.generation ?? first.endpoints?.generation,
  };
  const fourth = planPass(
    { ...after([aSynced, ...down.slice(1)], onA), memory: third.memory },
    NOW + 500,
    ids(),
  );
  assert.equal(fourth.quietUntil, NOW + DEFAULT_LIVENESS.heartbeatTimeoutMs);
  const silent = [synced('a', NOW - 2000), synced('b', NOW)];
  const fifth = planPass(after(silent), NOW + 250, ids());
  assert.equal(fifth.statusChanges.length, 1);
  assert.equal(fifth.quietUntil, NOW + 250);
  // A replica waiting for room: placement reads more than the snapshot (locality, failures).
  const pending = [...tasks, task('w2', 'web', 2, null)];
  const sixth = planPass(
    {
      ...snapshot(
        [service('web', 3)],
        pending,
        [...nodes].map((n) => ({ ...n, cpuMillicores: 500 })),
      ),
      memory: first.memory,
    },
    NOW + 250,
    ids(),
  );
  assert.equal(sixth.quietUntil, NOW + 250);
});

test('endpoints: a node whose last message still waits to be written is planned none, and the pass is not quiet', () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const plan = planPass(snapshot(services, tasks, [node('a'), node('b', { sending: true })]), NOW, ids());
  assert.deepEqual(plan.endpoints?.nodeIds, ['a']);
  assert.deepEqual(plan.endpoints?.deltas, []);
  assert.equal(plan.quietUntil, NOW);
});

test("assignments: on the store's same placement version, with every node holding its key, the last keys stand; any change computes them", () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const at = (version: number, list = tasks, nodes = [node('a'), node('b')]) => ({
    ...snapshot(services, list, nodes),
    placementVersion: version,
  });
  const first = planPass(at(7), NOW, ids());
  assert.equal(first.assignments.length, 2);
  const sent = (id: string) => first.assignments.find((a) => a.nodeId === id)?.key;
  const holding = [node('a', { sentAssignment: sent('a') }), node('b', { sentAssignment: sent('b') })];
  // Reports replaced every record (observed state): the placements are the store's same version.
  const reported = tasks.map((t) => ({ ...t, observed: { ...running(t.id), restart_count: 1 } }));
  const same = planPass({ ...at(7, reported, holding), memory: first.memory }, NOW + 250, ids());
  assert.deepEqual(same.assignments, []);
  assert.equal(same.memory.assignmentKeys, first.memory.assignmentKeys, 'the last keys, not computed again');
  // A node that reconnected holds nothing: it is sent its assignment.
  const back = [holding[0] ?? node('a'), node('b')];
  const rejoined = planPass({ ...at(7, reported, back), memory: first.memory }, NOW + 250, ids());
  assert.deepEqual(
    rejoined.assignments.map((a) => [a.nodeId, a.key]),
    [['b', sent('b')]],
  );
  // A task moved (a new version): both nodes hear of it.
  const moved = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'a')];
  const after = planPass({ ...at(8, moved, holding), memory: first.memory }, NOW + 250, ids());
  assert.deepEqual(after.assignments.map((a) => a.nodeId).sort(), ['a', 'b']);
  // The same version, but a policy change: the references changed.
  const policy = { mode: 'baseline' as const, exceptions: { web: ['cap:NET_ADMIN'] } };
  const admitted = planPass({ ...at(7, reported, holding), policy, memory: first.memory }, NOW + 250, ids());
  assert.deepEqual(admitted.assignments.map((a) => a.nodeId).sort(), ['a', 'b']);
  // The same version, but the pass itself changes a placement (a scale down): computed.
  const scaled = planPass(
    { ...at(7, reported, holding), services: [service('web', 1)], memory: first.memory },
    NOW + 250,
    ids(),
  );
  assert.deepEqual(
    scaled.assignments.map((a) => [a.nodeId, a.tasks.length]),
    [['b', 0]],
  );
});

test('reconcile: on the same placements, service records and draining nodes, steady services stay steady; any change reconciles', () => {
  const services = [service('web', 2)];
  const tasks = [task('w0', 'web', 0, 'a'), task('w1', 'web', 1, 'b')];
  const at = (version: number, list = tasks, nodes = [node('a'), node('b')], svcs = services) => ({
    ...snapshot(svcs, list, nodes),
    placementVersion: version,
  });
  const first = planPass(at(3), NOW, ids());
  assert.deepEqual([first.insert, first.update, first.forget], [[], [], []]);
  assert.ok(first.memory.steadyFrom, 'every service was steady');
  const again = planPass({ ...at(3), memory: first.memory }, NOW + 250, ids());
  assert.deepEqual([again.insert, again.update, again.forget], [[], [], []]);
  assert.equal(again.memory.steadyFrom, first.memory.steadyFrom, 'not reconciled again');
  // A scale writes a new service record: reconciled, a replica more.
  const scaled = planPass(
    { ...at(3, tasks, undefined, [service('web', 3)]), memory: first.memory },
    NOW,
    ids(),
  );
  assert.deepEqual(
    scaled.insert.map((t) => t.slot),
    [2],
  );
  assert.equal(scaled.memory.steadyFrom, undefined, 'not steady: the next pass reconciles too');
  // A replica deleted (a new placement version): replaced.
  const lost = planPass(
    { ...at(4, [tasks[0] ?? task('w0', 'web', 0, 'a')]), memory: first.memory },
    NOW,
    ids(),
  );
  assert.deepEqual(
    lost.insert.map((t) => t.slot),
    [1],
  );
  // A node drained: its replica's successor starts elsewhere.
  const drained = planPass(
    { ...at(3, tasks, [node('a'), node('b', { availability: 'draining' })]), memory: first.memory },
    NOW,
    ids(),
  );
  assert.deepEqual(
    drained.insert.map((t) => [t.slot, t.nodeId]),
    [[1, 'a']],
  );
});
