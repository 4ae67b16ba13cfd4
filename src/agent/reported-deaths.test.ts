import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ManagedContainer } from '../docker/container-engine.ts';
import type { ReportedDeath } from './reported-deaths.ts';
import { withDeaths } from './reported-deaths.ts';

function container(
  id: string,
  state: ManagedContainer['state'],
  exitCode: number | null = null,
): ManagedContainer {
  return {
    id,
    name: `web-0.${id}`,
    taskId: 't',
    service: 'web',
    slot: 0,
    revision: 1,
    state,
    exitCode,
    oomKilled: false,
    startedAt: 1,
    createdAt: 1,
    ports: [{ container_port: 80, host_port: 32000, protocol: 'tcp' }],
    ip: '10.240.0.2',
  };
}

test('a reported death wins over a list that still shows the container running', () => {
  const deaths = new Map<string, ReportedDeath>([['c1', { died: true, exitCode: 137, oomKilled: true }]]);
  const [seen] = withDeaths([container('c1', 'running')], deaths);
  assert.equal(seen?.state, 'exited');
  assert.equal(seen?.exitCode, 137);
  assert.equal(seen?.oomKilled, true);
  assert.deepEqual(seen?.ports, []);
});

test('once the list has caught up it is believed, and deaths of containers gone are forgotten', () => {
  const deaths = new Map<string, ReportedDeath>([
    ['c1', { died: true, exitCode: 1, oomKilled: false }],
    ['gone', { died: true, exitCode: 1, oomKilled: false }],
  ]);
  const [seen] = withDeaths([container('c1', 'exited', 2)], deaths);
  assert.equal(seen?.exitCode, 2, "the engine's own record");
  assert.deepEqual([...deaths.keys()], ['c1']);
  assert.equal(withDeaths([container('c2', 'running')], deaths)[0]?.state, 'running');
});

test('an oom event alone does not make a running container dead: its die event will', () => {
  const deaths = new Map<string, ReportedDeath>([['c1', { died: false, exitCode: null, oomKilled: true }]]);
  assert.equal(withDeaths([container('c1', 'running')], deaths)[0]?.state, 'running');
});

test('an oom event marks an exited container OOM-killed even when its inspect did not say so', () => {
  const deaths = new Map<string, ReportedDeath>([['c1', { died: true, exitCode: 137, oomKilled: true }]]);
  const [seen] = withDeaths([container('c1', 'exited', 137)], deaths);
  assert.equal(seen?.oomKilled, true);
  assert.equal(seen?.exitCode, 137);
});
