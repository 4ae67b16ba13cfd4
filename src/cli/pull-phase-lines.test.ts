import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PullPhase } from '../model/rollout.ts';
import { describePullWait } from '../model/rollout.ts';
import { formatPullPhase } from './pull-phase-lines.ts';

const phase: PullPhase = {
  image: 'app:v2',
  state: 'failed',
  started_at: '2026-01-01T00:00:00.000Z',
  finished_at: '2026-01-01T00:00:02.500Z',
  nodes: [
    {
      node: 'node-1',
      state: 'pulled',
      message: null,
      started_at: '2026-01-01T00:00:00.000Z',
      finished_at: '2026-01-01T00:00:01.200Z',
    },
    {
      node: 'node-2',
      state: 'failed',
      message: 'pull 127.0.0.1:1/app:v2: connection refused',
      started_at: '2026-01-01T00:00:00.000Z',
      finished_at: '2026-01-01T00:00:02.500Z',
    },
    { node: 'node-3', state: 'waiting', message: null, started_at: null, finished_at: null },
  ],
};

test('the pull phase: where it stands, then each node with its time and reason', () => {
  assert.deepEqual(formatPullPhase(phase, Date.parse('2026-01-01T00:01:00.000Z')), [
    'pull phase: failed app:v2, 1/3 nodes have it (2.5s)',
    '  NODE    PULL     TIME  MESSAGE',
    '  node-1  pulled   1.2s',
    '  node-2  failed   2.5s  pull 127.0.0.1:1/app:v2: connection refused',
    '  node-3  waiting  -',
  ]);
});

test('a phase under way counts its time up to now', () => {
  const pulling: PullPhase = { ...phase, state: 'pulling', finished_at: null, nodes: [] };
  assert.deepEqual(formatPullPhase(pulling, Date.parse('2026-01-01T00:00:03.000Z')), [
    'pull phase: pulling app:v2, 0/0 nodes have it (3.0s so far)',
  ]);
  assert.equal(
    describePullWait({ ...phase, state: 'pulling' }),
    'pulling image app:v2 on 1 of 3 nodes before replacing replicas',
  );
  assert.equal(describePullWait(phase), undefined, 'only while pulling');
});
