/**
 * A highly available control plane, for real: a 3-member etcd on loopback (tmpfs), three
 * `skiff server`s on the lab bridge sharing it, and an agent on each of three lab hosts given
 * every server (`--server URL1,URL2,URL3`). The leader is killed with SIGKILL in the middle of a
 * deploy, a scale and a stream of writes through the other servers; then the new leader is cut
 * off from etcd by netfilter (test/support/ha-servers.ts). Each time: another server leads within
 * seconds, every write answered 2xx exists afterwards, no replica is lost or duplicated, no
 * healthy replica restarts, and the agents, which follow the leader, keep their containers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import type { ServiceView } from '../src/model/views.ts';
import { nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import { sharedEtcdEndpoints, testPrefix } from './support/etcd.ts';
import { eventually } from './support/eventually.ts';
import { HaServers } from './support/ha-servers.ts';
import { Lab } from './support/lab.ts';

const HOSTS = 3;
const MAIN = resolve(import.meta.dirname, '../src/cli/main.ts');

/** The real CLI, its exit code and output. */
function execCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', MAIN, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}
let lab: Lab;
let ha: HaServers;
let engines: Docker[];

/** Running containers of a service across the lab's engines: slot name → container ids. */
async function running(service: string): Promise<Map<string, string[]>> {
  const bySlot = new Map<string, string[]>();
  for (const engine of engines) {
    const list = await engine.listContainers({
      filters: { label: [`skiff.cluster=${ha.clusterId}`, `skiff.service=${service}`], status: ['running'] },
    });
    for (const c of list) {
      const slot = c.Labels['skiff.slot'] ?? '?';
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), c.Id]);
    }
  }
  return bySlot;
}

/** Exactly `replicas` slots, each with exactly one running container (none lost, none duplicated). */
async function runsExactly(service: string, replicas: number, timeoutMs = 60_000) {
  return await eventually(
    `${service}: ${replicas} replicas, one container each`,
    async () => {
      const bySlot = await running(service);
      const one = [...bySlot.values()].every((ids) => ids.length === 1);
      return bySlot.size === replicas && one ? bySlot : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** A live server other than `not`. */
function another(not: number): number {
  const index = ha.servers.findIndex((s) => s.index !== not && ha.alive(s.index) && !s.partitioned);
  assert.ok(index >= 0, 'no other server alive');
  return index;
}

async function view(service: string, via: number): Promise<ServiceView> {
  return serviceViewSchema.parse((await ha.api(via, 'GET', `/api/services/${service}`)).body);
}

async function nodesReady(via: number): Promise<boolean> {
  const answer = await ha.api(via, 'GET', '/api/nodes', undefined, 2000).catch(() => undefined);
  if (answer?.status !== 200) return false;
  const nodes = nodeViewSchema.array().parse(answer.body);
  return nodes.filter((n) => n.status === 'ready').length === HOSTS;
}

async function newLeader(old: number, timeoutMs = 15_000): Promise<number> {
  return await eventually(
    'a new leader',
    async () => {
      const leader = await ha.leader();
      return leader !== undefined && leader !== old ? leader : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

const spec = (name: string, replicas: number) => ({
  name,
  image: 'skiff-demo:v1',
  replicas,
  resources: { memory_mb: 16 },
});

describe('HA: three servers on etcd', { timeout: 420_000 }, () => {
  before(async () => {
    lab = await Lab.up(HOSTS);
    engines = [1, 2, 3].map((i) => new Docker({ socketPath: lab.socketPath(i) }));
    ha = await HaServers.start({
      count: 3,
      host: Lab.gateway,
      etcdEndpoints: await sharedEtcdEndpoints(),
      prefix: testPrefix('ha'),
      extraArgs: ['--address-pool', Lab.addressPool],
    });
    await lab.startAgents(ha.urls.join(','), ha.joinToken);
    await eventually('three ready nodes', () => nodesReady(0), { timeoutMs: 60_000 });
  });

  after(async () => {
    if (process.env.SKIFF_HA_VERBOSE) console.log(ha?.output.slice(-200).join('\n'));
    await ha?.stop();
    await lab?.down();
  });

  let web: Map<string, string[]>;

  test('the leader killed in the middle of a deploy, a scale and a stream of writes', async () => {
    assert.equal((await ha.api(0, 'POST', '/api/deploy', spec('web', 3))).status, 201);
    web = await runsExactly('web', 3);
    const old = await eventually('a leader', () => ha.leader());
    const [a, b] = ha.servers.filter((s) => s.index !== old).map((s) => s.index) as [number, number];

    // Writes go on through the other servers while the leader dies: each answered 2xx must exist.
    const accepted: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let n = 0; writing && n < 12; n++) {
        const via = n % 2 === 0 ? a : b;
        const answer = await ha.api(via, 'POST', '/api/deploy', spec(`w${n}`, 1)).catch(() => undefined);
        if (answer && answer.status >= 200 && answer.status < 300) accepted.push(`w${n}`);
        await new Promise((done) => setTimeout(done, 150));
      }
    })();
    const deploy = ha.api(a, 'POST', '/api/deploy', spec('api', 2));
    const scale = ha.api(b, 'POST', '/api/services/web/scale', { replicas: 5 });
    const killedAt = Date.now();
    await ha.kill(old);
    assert.ok([200, 201].includes((await deploy).status), 'the deploy through a follower is accepted');
    assert.equal((await scale).status, 200, 'the scale through a follower is accepted');

    const leader = await newLeader(old);
    const leaderMs = Date.now() - killedAt;
    await eventually('every agent on the new leader', () => nodesReady(leader), {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    const agentsMs = Date.now() - killedAt;
    writing = false;
    await writer;
    console.log(
      `leader killed: new leader after ${leaderMs} ms, every agent ready on it after ${agentsMs} ms; ${accepted.length} writes accepted meanwhile`,
    );
    assert.ok(agentsMs < 10_000, `the agents reconnected within seconds (${agentsMs} ms)`);
    // Its lease was renewed under 500 ms before the kill, so etcd could not have expired it before
    // 1.5 s: a leader sooner means a follower the agents came to found the port refusing and
    // ended the lease itself (src/server/leadership/leader-probe.ts).
    assert.ok(leaderMs < 1500, `a new leader before the dead one's lease could expire (${leaderMs} ms)`);

    const scaled = await runsExactly('web', 5);
    for (const [slot, ids] of web)
      assert.deepEqual(scaled.get(slot), ids, `${slot}: the same container, never restarted`);
    await runsExactly('api', 2);
    assert.ok(accepted.length > 0, 'some writes were answered while the leader died');
    for (const name of accepted) await runsExactly(name, 1);
    const after = await view('web', leader);
    assert.ok(
      after.containers.every((c) => c.restart_count === 0),
      'no replica of web restarted',
    );
    web = scaled;

    // The killed server comes back as a follower.
    await ha.startServer(old);
    await eventually('the old leader following', async () => (await ha.leader()) === leader);

    // A follower forwards what needs the leader: the node sessions, and logs from the agents.
    assert.ok(await nodesReady(old), 'GET /api/nodes through a follower lists the ready nodes');
    const logs = await ha.api(old, 'GET', '/api/services/web/logs?tail=1');
    assert.equal(logs.status, 200);
    assert.match(String(logs.body), /web-0 \| /, 'log lines of web through a follower');
    assert.equal(
      (await ha.api(old, 'DELETE', '/api/nodes/no-such-node')).status,
      404,
      'node routes answered by the leader',
    );
    // exec's WebSocket through a follower, passed on to the leader, then to the replica's agent.
    const follower = ha.servers[old];
    assert.ok(follower);
    const exec = await execCli([
      'exec',
      '--server',
      follower.url,
      '--ca',
      join(follower.dataDir, 'ca.crt'),
      '--token',
      ha.token,
      'web-0',
      '--',
      'echo',
      'exec-through-a-follower',
    ]);
    assert.equal(exec.code, 0, exec.stderr);
    assert.match(exec.stdout, /exec-through-a-follower/);
  });

  test('the leader partitioned from etcd stops acting within its lease; another takes over', async () => {
    const old = await eventually('a leader', () => ha.leader());
    const linesBefore = ha.output.length;
    const cutAt = Date.now();
    ha.partition(old);
    try {
      const leader = await newLeader(old);
      const takeoverMs = Date.now() - cutAt;
      // The cut-off leader said it stopped, on its own clock, before its lease could expire in etcd.
      const stepDown = await eventually('the partitioned leader to step down', () =>
        ha.output
          .slice(linesBefore)
          .find((line) => line.startsWith(`[s${old}]`) && line.includes('stopped leading')),
      );
      const stepDownAt = Date.parse(stepDown.split(' ')[1] ?? '');
      const stepDownMs = stepDownAt - cutAt;
      console.log(
        `leader partitioned: stepped down after ${stepDownMs} ms, new leader after ${takeoverMs} ms`,
      );
      assert.ok(stepDownMs <= 2500, `stopped acting within its 2 s lease (${stepDownMs} ms)`);
      assert.ok(stepDownAt <= cutAt + takeoverMs, 'it stopped before another server led');

      const via = another(old);
      assert.equal((await ha.api(via, 'POST', '/api/deploy', spec('after-cut', 2))).status, 201);
      await runsExactly('after-cut', 2);
      await eventually('every agent on the new leader', () => nodesReady(leader), {
        timeoutMs: 15_000,
        intervalMs: 50,
      });
      const agentsMs = Date.now() - cutAt;
      console.log(`leader partitioned: every agent ready on the new leader after ${agentsMs} ms`);
      // Not held by the cut-off ex-leader, which would never hear who leads next.
      assert.ok(agentsMs < 8000, `the agents came over within seconds (${agentsMs} ms)`);
      const now = await runsExactly('web', 5);
      for (const [slot, ids] of web) assert.deepEqual(now.get(slot), ids, `${slot}: never restarted`);
    } finally {
      ha.heal(old);
    }
    await eventually('the healed server following', async () => {
      const answer = await ha.api(old, 'GET', '/api/servers', undefined, 2000).catch(() => undefined);
      const body = answer?.body as { servers?: { url: string; leader: boolean }[] } | undefined;
      const leads = body?.servers?.find((s) => s.leader);
      return leads !== undefined && leads.url !== ha.servers[old]?.url;
    });
  });
});
