/**
 * planPass and a rollout's pull phase, on snapshots built by hand: who is asked to pull, that no
 * outdated replica is replaced (neither started beside nor stopped) before every node has the
 * image, and how a failed pull ends the rollout with every old replica left running.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Rollout } from '../model/rollout.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import { serviceSpecSchema } from '../model/service-spec.ts';
import { AGENT_FEATURES, FEATURES } from '../protocol/features.ts';
import type { PullObservation } from '../reconciler/pre-pull.ts';
import type { StoredService } from '../store/store.ts';
import { node as fixtureNode, snapshot as fixtureSnapshot, task } from './pass-fixture.ts';
import type { PassNode, PassSnapshot } from './pass-snapshot.ts';
import { specKey } from './pass-snapshot.ts';
import type { PassPlan } from './plan-pass.ts';
import { planPass } from './plan-pass.ts';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const STARTED = '2025-12-31T23:59:59.000Z';
const REQUEST = `web/2/${STARTED}`;

function spec(image: string, extra: Record<string, unknown> = {}): ServiceSpec {
  return serviceSpecSchema.parse({
    name: 'web',
    image,
    replicas: 2,
    resources: { cpus: 0.1, memory_mb: 16 },
    update: { min_healthy_time: '0s', ...((extra.update as object | undefined) ?? {}) },
    ...Object.fromEntries(Object.entries(extra).filter(([key]) => key !== 'update')),
  });
}

function rollout(change: Partial<Rollout> = {}): Rollout {
  return {
    state: 'in_progress',
    from_revision: 1,
    to_revision: 2,
    started_at: STARTED,
    finished_at: null,
    message: null,
    ...change,
  };
}

/** The fixture's node, seen at this file's clock. */
const node = (id: string, change: Partial<PassNode> = {}): PassNode =>
  fixtureNode(id, { lastSeen: NOW, ...change });

interface Case {
  /** The service's current revision (2), whose spec is `to`. */
  readonly revision?: number;
  readonly from?: ServiceSpec;
  readonly to?: ServiceSpec;
  readonly rollout?: Rollout;
  readonly nodes?: readonly PassNode[];
}

function pass(given: Case = {}): PassPlan {
  const from = given.from ?? spec('app:v1');
  const to = given.to ?? spec('app:v2');
  const revision = given.revision ?? 2;
  const rolloutRecord = given.rollout ?? rollout();
  const service: StoredService = {
    spec: to,
    revision,
    createdAt: 0,
    updatedAt: 0,
    rollout: rolloutRecord,
  };
  const snapshot: PassSnapshot = {
    ...fixtureSnapshot(
      [service],
      [task('o0', 'web', 0, 'a'), task('o1', 'web', 1, 'b')],
      given.nodes ?? [node('a'), node('b'), node('c')],
    ),
    specs: new Map([
      [specKey('web', 1), spec('app:v1')],
      [specKey('web', rolloutRecord.from_revision ?? 1), from],
      [specKey('web', revision), to],
    ]),
    pullParallelism: 2,
  };
  let next = 0;
  return planPass(snapshot, NOW, () => `t${next++}`);
}

/** A node whose agent answered this rollout's pull request. */
function answered(
  id: string,
  state: PullObservation['state'],
  message: string | null = null,
  request = REQUEST,
): PassNode {
  return node(id, {
    pullsAsked: new Set([request]),
    pulls: new Map([[request, { state, message, at: NOW - 100 }]]),
  });
}

function stopped(plan: PassPlan): string[] {
  return plan.update.filter((u) => u.desiredState === 'shutdown').map((u) => u.id);
}

test('a rollout to a new image asks the nodes to pull, up to the bound, and replaces nothing yet', () => {
  const plan = pass();
  assert.deepEqual(
    plan.pulls.map((p) => [p.nodeId, p.image, p.requestId]),
    [
      ['a', 'app:v2', REQUEST],
      ['b', 'app:v2', REQUEST],
    ],
  );
  assert.deepEqual(plan.insert, [], 'no successor before the image is there');
  assert.deepEqual(stopped(plan), [], 'no old replica stops');
  const write = plan.rollouts[0];
  assert.equal(write?.rollout.state, 'in_progress');
  assert.deepEqual(
    write?.rollout.pull?.nodes.map((n) => [n.node, n.state]),
    [
      ['a', 'pulling'],
      ['b', 'pulling'],
      ['c', 'waiting'],
    ],
  );
  assert.match(
    plan.events.map((e) => e.message).join('\n'),
    /Pulling image app:v2 on 3 nodes before replacing/,
  );
});

test('the replacements start in the pass that sees the last node pulled', () => {
  const first = pass();
  const phase = first.rollouts[0]?.rollout;
  assert.ok(phase);
  const middle = pass({
    rollout: phase,
    nodes: [answered('a', 'pulled'), answered('b', 'pulling'), node('c')],
  });
  assert.deepEqual(
    middle.pulls.map((p) => p.nodeId),
    ['c'],
    'a finished pull frees a place',
  );
  assert.deepEqual(middle.insert, []);
  const pulling = middle.rollouts[0]?.rollout;
  assert.ok(pulling);
  const done = pass({
    rollout: pulling,
    nodes: [answered('a', 'pulled'), answered('b', 'pulled'), answered('c', 'pulled')],
  });
  assert.equal(done.rollouts[0]?.rollout.pull?.state, 'done');
  assert.deepEqual(
    done.insert.map((t) => [t.slot, t.revision]),
    [[0, 2]],
    'the first surge replica, placed on a node that has the image',
  );
  assert.deepEqual(done.pulls, []);
  assert.match(
    done.events.map((e) => e.message).join('\n'),
    /Image app:v2 is on 3 nodes after 0\.0s: replacing replicas of web/,
  );
});

test('a node that cannot pre-pull (an older agent) is skipped, not waited for', () => {
  const older = node('c', { features: new Set(AGENT_FEATURES.filter((f) => f !== FEATURES.prePull)) });
  const plan = pass({ nodes: [answered('a', 'pulled'), answered('b', 'pulled'), older] });
  assert.deepEqual(
    plan.rollouts[0]?.rollout.pull?.nodes.map((n) => [n.node, n.state]),
    [
      ['a', 'pulled'],
      ['b', 'pulled'],
      ['c', 'skipped'],
    ],
  );
  assert.equal(plan.insert.length, 1);
  assert.deepEqual(plan.pulls, [], 'an agent that does not know image.pull is never sent one');
});

test('nodes the new revision cannot run on are not asked: down, drained, unconnected, constrained out', () => {
  const to = spec('app:v2', { placement: { constraints: ['node!=e'] } });
  const plan = pass({
    to,
    nodes: [
      node('a'),
      node('b', { status: 'down', connected: false, lastSeen: 0 }),
      node('c', { availability: 'draining' }),
      node('d', { connected: false, status: 'unreachable' }),
      node('e'),
    ],
  });
  assert.deepEqual(
    plan.rollouts[0]?.rollout.pull?.nodes.map((n) => n.node),
    ['a'],
  );
});

test('a failed pull rolls the rollout back before anything stopped (auto_rollback)', () => {
  const plan = pass({
    nodes: [answered('a', 'failed', 'pull 127.0.0.1:1/app:v2: connection refused'), answered('b', 'pulling')],
  });
  const write = plan.rollouts[0];
  assert.equal(write?.rollout.state, 'rolled_back');
  assert.equal(write?.revertTo, 1);
  assert.equal(
    write?.rollout.message,
    'image app:v2 could not be pulled on a: pull 127.0.0.1:1/app:v2: connection refused',
  );
  assert.equal(write?.rollout.pull?.state, 'failed');
  assert.deepEqual(plan.insert, []);
  assert.deepEqual(stopped(plan), []);
  assert.equal(plan.again, true);
});

test('a failed pull with auto_rollback off fails the rollout, and the old replicas stay until a fix', () => {
  const to = spec('app:v2', { update: { auto_rollback: false } });
  const plan = pass({ to, nodes: [answered('a', 'failed', 'not found'), answered('b', 'pulled')] });
  const failed = plan.rollouts[0]?.rollout;
  assert.equal(failed?.state, 'failed');
  assert.equal(plan.rollouts[0]?.revertTo, null);
  assert.deepEqual(plan.insert, []);
  assert.deepEqual(stopped(plan), []);
  // Later passes, the rollout failed: still nothing replaced, nothing asked again.
  const later = pass({ to, rollout: failed, nodes: [node('a'), node('b')] });
  assert.deepEqual(later.insert, []);
  assert.deepEqual(stopped(later), []);
  assert.deepEqual(later.pulls, []);
  assert.deepEqual(later.rollouts, []);
});

test('a failed pull rolls back to the revision the replicas run, not a failed one in between', () => {
  // Revision 2 failed to pull (auto_rollback off), the replicas still run 1; revision 3 fails too.
  const request = `web/3/${STARTED}`;
  const plan = pass({
    revision: 3,
    from: spec('app:v2-broken'),
    to: spec('app:v3'),
    rollout: rollout({ from_revision: 2, to_revision: 3 }),
    nodes: [answered('a', 'failed', 'not found', request), answered('b', 'pulled', null, request)],
  });
  assert.equal(plan.rollouts[0]?.rollout.state, 'rolled_back');
  assert.equal(plan.rollouts[0]?.revertTo, 1);
});

test('a stop-first service (fixed host port) stops nothing while its image is pulled', () => {
  const ports = [{ container_port: 80, host_port: 8080, mode: 'host' }];
  const plan = pass({ from: spec('app:v1', { ports }), to: spec('app:v2', { ports }) });
  assert.deepEqual(stopped(plan), []);
  assert.deepEqual(plan.insert, []);
  assert.equal(plan.pulls.length, 2);
});

test('pre_pull: false rolls as before: the successor starts at once and pulls there', () => {
  const plan = pass({ to: spec('app:v2', { update: { pre_pull: false } }) });
  assert.deepEqual(plan.pulls, []);
  assert.equal(plan.insert.length, 1);
  assert.equal(plan.rollouts.length, 0);
});

test('a rollout that keeps the image (an env change) has no pull phase', () => {
  const plan = pass({ from: spec('app:v2', { env: { A: '1' } }), to: spec('app:v2', { env: { A: '2' } }) });
  assert.deepEqual(plan.pulls, []);
  assert.equal(plan.insert.length, 1);
});

test('a pull not finished within pull_deadline fails the rollout', () => {
  const to = spec('app:v2', { update: { pull_deadline: '1s' } });
  const first = pass({ to });
  const pulling = first.rollouts[0]?.rollout;
  assert.ok(pulling);
  const late = pass({
    to,
    rollout: {
      ...pulling,
      pull: pulling.pull && { ...pulling.pull, started_at: '2025-12-31T23:59:58.000Z' },
    },
    nodes: [answered('a', 'pulling'), answered('b', 'pulled'), node('c')],
  });
  assert.equal(late.rollouts[0]?.rollout.state, 'rolled_back');
  assert.match(late.rollouts[0]?.rollout.message ?? '', /not pulled within 1s on a, c/);
});
