import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentAdmission } from './agent-admission.ts';

const self = { selfId: 's1', selfUrl: 'https://10.0.0.1:8080' };
const other = { id: 's2', url: 'https://10.0.0.2:8080', since: 1, lease: '9' };

test('the leader serves agents; a follower names the leader; nobody leading: hold the connection', () => {
  assert.equal(agentAdmission({ ...self, leading: true, holder: undefined }).kind, 'accept');
  assert.deepEqual(agentAdmission({ ...self, leading: false, holder: other }), {
    kind: 'redirect',
    url: other.url,
  });
  assert.deepEqual(agentAdmission({ ...self, leading: false, holder: undefined }), { kind: 'hold' });
});

test('a server that stepped down while the key still names it sends the agent elsewhere at once', () => {
  const stale = { id: 's1', url: self.selfUrl, since: 1, lease: '7' };
  assert.deepEqual(agentAdmission({ ...self, leading: false, holder: stale }), { kind: 'refuse' });
});

test('an agent that just failed to reach the leader the key still names is held, not sent back there', () => {
  const unreachable = { url: other.url, arrivedAtMs: 5 };
  assert.deepEqual(agentAdmission({ ...self, leading: false, holder: other, unreachable }), { kind: 'hold' });
  // The same server elected anew after the agent arrived (it restarted and won): send it there.
  const again = { ...other, since: 6 };
  assert.deepEqual(agentAdmission({ ...self, leading: false, holder: again, unreachable }), {
    kind: 'redirect',
    url: other.url,
  });
  // Another leader: there.
  const third = { id: 's3', url: 'https://10.0.0.3:8080', since: 2, lease: '3' };
  assert.equal(agentAdmission({ ...self, leading: false, holder: third, unreachable }).kind, 'redirect');
});

test('an agent held for a leader it could not reach is sent back once a probe finds that leader leading', () => {
  const unreachable = { url: other.url, arrivedAtMs: 5 };
  // Confirmed before the agent arrived: that answer is older than the agent's trouble.
  assert.equal(
    agentAdmission({ ...self, leading: false, holder: other, unreachable, holderConfirmedAtMs: 4 }).kind,
    'hold',
  );
  assert.deepEqual(
    agentAdmission({ ...self, leading: false, holder: other, unreachable, holderConfirmedAtMs: 5 }),
    { kind: 'redirect', url: other.url },
  );
});
