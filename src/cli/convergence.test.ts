import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeProgress, isConverged, judgeConvergence } from './convergence.ts';
import { replica, serviceView } from './service-view-fixture.ts';

test('converged when every wanted replica of this revision runs healthy and nothing else is left', () => {
  assert.deepEqual(judgeConvergence(serviceView()), { state: 'converged' });
  assert.equal(isConverged(serviceView({ replicas: 0, running: 0, healthy: 0, containers: [] })), true);
});

test('not converged while replicas start, are unhealthy, or older ones remain', () => {
  const starting = serviceView({
    running: 2,
    healthy: 2,
    containers: [replica({ slot: 0 }), replica({ slot: 1 }), replica({ slot: 2, status: 'starting' })],
  });
  assert.equal(isConverged(starting), false);
  assert.equal(isConverged(serviceView({ healthy: 2 })), false);
  const rolling = serviceView({
    revision: 2,
    containers: [
      replica({ slot: 0, revision: 2 }),
      replica({ slot: 1, revision: 2 }),
      replica({ slot: 2, revision: 2 }),
      replica({ slot: 2, revision: 1, status: 'stopping' }),
    ],
  });
  assert.equal(isConverged(rolling), false);
  const scaledToZero = serviceView({
    replicas: 0,
    running: 0,
    healthy: 0,
    containers: [replica({ slot: 0, status: 'stopping' })],
  });
  assert.equal(isConverged(scaledToZero), false);
});

test('a failed service is failed, with the server reason', () => {
  assert.deepEqual(
    judgeConvergence(serviceView({ status: 'failed', message: 'image myapp:nope not found' })),
    {
      state: 'failed',
      reason: 'image myapp:nope not found',
    },
  );
});

test('progress counts this revision by state, then health, leftovers and the reason', () => {
  assert.equal(
    describeProgress(
      serviceView({
        running: 2,
        healthy: 2,
        containers: [replica({ slot: 0 }), replica({ slot: 1 }), replica({ slot: 2, status: 'starting' })],
      }),
    ),
    'waiting for api-server: 2/3 running, 1 starting',
  );
  assert.equal(
    describeProgress(
      serviceView({
        revision: 2,
        running: 1,
        healthy: 0,
        message: 'no node has 4 CPUs free',
        containers: [
          replica({ slot: 0, revision: 2, health: 'starting' }),
          replica({ slot: 1, revision: 2, status: 'pending' }),
          replica({ slot: 2, revision: 2, status: 'pulling' }),
          replica({ slot: 0, revision: 1 }),
          replica({ slot: 1, revision: 1 }),
        ],
      }),
    ),
    'waiting for api-server: 1/3 running, 1 pending, 1 pulling, 0/3 healthy, 2 outdated (no node has 4 CPUs free)',
  );
});

test('a deploy whose revision was rolled back fails with the reason', () => {
  const rolledBack = serviceView({
    revision: 1,
    rollout: {
      state: 'rolled_back',
      from_revision: 1,
      to_revision: 2,
      started_at: '2024-01-15T10:00:00Z',
      finished_at: '2024-01-15T10:01:00Z',
      message: 'api-server-0 failed: pull nope: not found',
    },
  });
  assert.deepEqual(judgeConvergence(rolledBack, 2), {
    state: 'failed',
    reason: 'rolled back to revision 1: api-server-0 failed: pull nope: not found',
  });
  assert.equal(judgeConvergence(rolledBack).state, 'converged', 'scale does not judge rollouts');
});

test('a deploy waits for its own revision', () => {
  assert.equal(judgeConvergence(serviceView({ revision: 1 }), 2).state, 'waiting');
  assert.equal(judgeConvergence(serviceView({ revision: 2 }), 2).state, 'converged');
});
