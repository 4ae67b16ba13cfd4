/**
 * Agent failover on an HA control plane, without Docker: three real servers on a real etcd
 * (test/support/ha-servers.ts, on loopback) and three real agents (src/agent/agent.ts) on fake
 * engines in this process, each given every server. The leader is killed (SIGKILL) and then cut
 * off from etcd, alternately, three times each: every agent must be ready on the new leader
 * within 2 s (median per kind, the goal of issue 11; 6 s at most in any round), which the 2 s
 * lease alone cannot give after a kill (etcd expires it 1.5 to 2.5 s after the last renewal): a
 * follower the agents come to probes the leader and ends its lease
 * (src/server/leadership/leader-probe.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../src/agent/agent.ts';
import { nodeViewSchema } from '../src/model/views.ts';
import { FakeEngine } from '../src/sim/fake-engine.ts';
import { sharedEtcdEndpoints, testPrefix } from './support/etcd.ts';
import { eventually } from './support/eventually.ts';
import { HaServers } from './support/ha-servers.ts';

const AGENTS = 3;
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const GOAL_MS = 2000;
let ha: HaServers;
const agents: Agent[] = [];
const dir = mkdtempSync('/dev/shm/skiff-ha-agents-');
const agentLog: string[] = [];

async function readyOn(via: number): Promise<number> {
  const answer = await ha.api(via, 'GET', '/api/nodes', undefined, 2000).catch(() => undefined);
  if (answer?.status !== 200) return 0;
  return nodeViewSchema
    .array()
    .parse(answer.body)
    .filter((n) => n.status === 'ready').length;
}

before(async () => {
  ha = await HaServers.start({
    count: 3,
    host: '127.0.0.1',
    etcdEndpoints: await sharedEtcdEndpoints(),
    prefix: testPrefix('ha-agents'),
  });
  for (let i = 1; i <= AGENTS; i++) {
    const agent = new Agent({
      serverUrls: ha.urls,
      joinToken: ha.joinToken,
      engine: new FakeEngine(),
      name: `fake-${i}`,
      dataDir: join(dir, `agent-${i}`),
      dataPlane: false,
      log: (line) => agentLog.push(`[fake-${i}] ${line}`),
    });
    agents.push(agent);
    await agent.start();
  }
  const leader = await eventually('a leader', () => ha.leader(), { timeoutMs: 15_000 });
  await eventually('every agent ready', async () => (await readyOn(leader)) === AGENTS, {
    timeoutMs: 30_000,
  });
});

after(async () => {
  for (const agent of agents) agent.stop();
  await ha?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the leader killed, then cut off from etcd, three times each: every agent on the new leader within 2 s (median)', {
  timeout: 240_000,
}, async () => {
  const figures: string[] = [];
  const results: { kind: 'kill' | 'partition'; leaderMs: number; agentsMs: number }[] = [];
  const context = () =>
    `${figures.join('\n')}\n${ha.output.slice(-30).join('\n')}\n${agentLog.slice(-12).join('\n')}`;
  for (let round = 0; round < 6; round++) {
    const kind = round % 2 === 0 ? 'kill' : 'partition';
    const old = await eventually('a leader', () => ha.leader(), { timeoutMs: 15_000 });
    await eventually('every agent ready', async () => (await readyOn(old)) === AGENTS, { timeoutMs: 30_000 });
    const failedAt = Date.now();
    if (kind === 'kill') await ha.kill(old);
    else ha.partition(old);
    const leader = await eventually(
      'a new leader',
      async () => {
        const now = await ha.leader();
        return now !== undefined && now !== old ? now : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 10 },
    );
    const leaderMs = Date.now() - failedAt;
    await eventually('every agent on the new leader', async () => (await readyOn(leader)) === AGENTS, {
      timeoutMs: 20_000,
      intervalMs: 10,
    });
    const agentsMs = Date.now() - failedAt;
    figures.push(`${kind}: leader ${leaderMs} ms, agents ${agentsMs} ms`);
    results.push({ kind, leaderMs, agentsMs });
    if (kind === 'kill') await ha.startServer(old);
    else ha.heal(old);
    // No agent waits out a hold (10 s) or a node's grace: whatever the round, seconds at most.
    assert.ok(agentsMs <= 3 * GOAL_MS, `${kind}: agents after ${agentsMs} ms\n${context()}`);
  }
  for (const kind of ['kill', 'partition'] as const) {
    const of = results.filter((r) => r.kind === kind);
    const agentsMedian = median(of.map((r) => r.agentsMs));
    assert.ok(
      agentsMedian <= GOAL_MS,
      `${kind}: agents median ${agentsMedian} ms (goal ${GOAL_MS})\n${context()}`,
    );
  }
  // The lease was renewed under 500 ms before the kill, so etcd could not have expired it before
  // 1.5 s: a leader sooner means a follower the agents came to ended it (leader-probe.ts).
  const killLeader = median(results.filter((r) => r.kind === 'kill').map((r) => r.leaderMs));
  assert.ok(
    killLeader < 1500,
    `kill: a new leader before the lease could expire (median ${killLeader} ms)\n${context()}`,
  );
  console.log(figures.join('\n'));
});
