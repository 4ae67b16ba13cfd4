import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardDecision, needsLeader } from './forward-decision.ts';

const leaderUrl = 'https://10.0.0.2:8080';

test('what needs the leader: node sessions and whatever reaches an agent, nothing the store answers', () => {
  for (const path of [
    '/api/nodes',
    '/api/nodes/h1',
    '/api/nodes/h1/drain',
    '/api/services/web/logs',
    '/api/images',
    '/api/images/prune',
  ])
    assert.ok(needsLeader(path), path);
  for (const path of ['/api/services', '/api/services/web', '/api/deploy', '/api/events', '/api/servers'])
    assert.ok(!needsLeader(path), path);
  // A service named like a route segment is still a service.
  assert.ok(!needsLeader('/api/services/logs'));
});

test('a follower forwards to the leader; the leader and store routes answer locally', () => {
  const base = { pathname: '/api/services/web/logs', leaderUrl, forwarded: false };
  assert.deepEqual(forwardDecision({ ...base, leading: false }), { kind: 'forward', leaderUrl });
  assert.deepEqual(forwardDecision({ ...base, leading: true }), { kind: 'local' });
  assert.deepEqual(forwardDecision({ ...base, pathname: '/api/deploy', leading: false }), { kind: 'local' });
});

test('no leader, or a request forwarded already: 503 with the reason, never another hop', () => {
  const base = { pathname: '/api/nodes', leading: false };
  const none = forwardDecision({ ...base, leaderUrl: undefined, forwarded: false });
  assert.equal(none.kind, 'unavailable');
  const loop = forwardDecision({ ...base, leaderUrl, forwarded: true });
  assert.equal(loop.kind, 'unavailable');
});
