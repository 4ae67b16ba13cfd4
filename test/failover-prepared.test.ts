/**
 * Failover that does not start from zero, on the 3-host lab: while a node is silent the other
 * agents hold its replicas' replacements created but not started (`skiff.prepared`). An agent
 * restart (the node back within the grace) leaves the prepared containers removed and nothing
 * moved; a host whose replacements were prepared before it died (its agent went first) has its
 * replicas back from those very containers; a host killed at once is down on the probes' evidence
 * before some replacements are prepared, and each comes back from its prepared container or is made
 * directly, nothing left behind and no slot over its count. A killed host that comes back never
 * runs its old replicas beside their replacements, not even for a moment.
 * SKIFF_TEST_DEBUG=1 prints the event log, the server's output and each agent's log at the end.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { eventSchema } from '../src/model/event.ts';
import { nodeViewSchema, serviceViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { Lab } from './support/lab.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const HOSTS = 3;
const REPLICAS = 6;
let lab: Lab;
let skiff: SkiffCluster;
let engines: Docker[];

interface Seen {
  readonly id: string;
  readonly host: number;
  readonly state: string;
  readonly slot: number;
  readonly prepared: boolean;
}

/** Every container of the service on the given hosts, straight from each engine. */
async function containers(service: string, hosts: readonly number[] = [1, 2, 3]): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const i of hosts) {
    const list = await (engines[i - 1] as Docker).listContainers({
      all: true,
      filters: { label: [`skiff.cluster=${skiff.clusterId}`, `skiff.service=${service}`] },
    });
    for (const c of list)
      seen.push({
        id: c.Id,
        host: i,
        state: c.State,
        slot: Number(c.Labels['skiff.slot']),
        prepared: c.Labels['skiff.prepared'] === 'true',
      });
  }
  return seen;
}

/**
 * Runs `returning` (a host coming back and settling) while polling every host's running replicas
 * of the service, all three engines at once, round after round; fails if any slot was seen running
 * on two hosts in one round. A host whose engine is not up yet runs nothing. A returning agent
 * restarts its saved assignment only once the server has answered: replicas moved while it was
 * down must not run beside their replacements (agent/restored-hold.ts).
 */
async function noSlotRunsTwiceWhile(service: string, returning: () => Promise<void>): Promise<void> {
  /** Each slot seen on two hosts: on which, from when to when (ms after the host began to return), in how many rounds. */
  const doubles = new Map<string, { firstMs: number; lastMs: number; rounds: number }>();
  let rounds = 0;
  let settled = false;
  const startedAt = Date.now();
  const deadline = startedAt + 180_000;
  const poll = (async () => {
    while (!settled && Date.now() < deadline) {
      const perHost = await Promise.all(
        [1, 2, 3].map((i) => containers(service, [i]).catch((): Seen[] => [])),
      );
      rounds++;
      const atMs = Date.now() - startedAt;
      const hosts = new Map<number, number[]>();
      for (const c of perHost.flat().filter((c) => c.state === 'running'))
        hosts.set(c.slot, [...(hosts.get(c.slot) ?? []), c.host]);
      for (const [slot, on] of hosts) {
        if (on.length < 2) continue;
        const key = `${service}-${slot} on lab-h${on.sort().join(' and lab-h')}`;
        const seen = doubles.get(key) ?? { firstMs: atMs, lastMs: atMs, rounds: 0 };
        doubles.set(key, { ...seen, lastMs: atMs, rounds: seen.rounds + 1 });
      }
      // A pace, not a wait for anything: a round every ~30 ms sees a double of 0.3-2 s many
      // times over without the lists crowding the engines the returning host's agents need.
      await new Promise((paced) => setTimeout(paced, 25));
    }
  })();
  try {
    await returning();
  } finally {
    settled = true;
    await poll;
  }
  assert.ok(rounds > 10, `polled ${rounds} rounds only`);
  assert.deepEqual(
    [...doubles].map(([key, d]) => `${key}: ${d.firstMs}-${d.lastMs} ms, ${d.rounds} of ${rounds} rounds`),
    [],
    'no slot runs on two hosts at once while a host returns',
  );
}

async function nodeStatus(i: number): Promise<string> {
  const node = nodeViewSchema.parse((await skiff.api('GET', `/api/nodes/${lab.nodeName(i)}`)).body);
  return node.status;
}

async function messages(service: string): Promise<string[]> {
  const { body } = await skiff.api('GET', `/api/events?service=${service}&limit=10000`);
  return eventSchema
    .array()
    .parse(body)
    .map((e) => e.message);
}

async function running(service: string, hosts?: readonly number[]): Promise<Seen[]> {
  return await eventually(
    `${service}: ${REPLICAS} running`,
    async () => {
      const view = serviceViewSchema.parse((await skiff.api('GET', `/api/services/${service}`)).body);
      const up = (await containers(service, hosts)).filter((c) => c.state === 'running');
      return view.status === 'running' && up.length === REPLICAS ? up : undefined;
    },
    { timeoutMs: 60_000 },
  );
}

/** Waits for `count` replacements held created (prepared, not started) on `hosts`; returns them. */
async function preparedOn(service: string, hosts: readonly number[], count: number): Promise<Seen[]> {
  return await eventually(
    `${count} replicas of ${service} prepared on hosts ${hosts.join(', ')}`,
    async () => {
      const made = (await containers(service, hosts)).filter((c) => c.prepared && c.state === 'created');
      return made.length === count ? made : undefined;
    },
    { timeoutMs: 2_500 },
  );
}

/**
 * Waits for host i's node to be down on the indirect probes' evidence: well within the test's 10 s
 * grace, and said so by the server (a down after the grace would be a miss of the probes).
 */
async function downOnProbes(i: number): Promise<void> {
  await eventually(`${lab.nodeName(i)} down`, async () => (await nodeStatus(i)) === 'down', {
    timeoutMs: 5_000,
  });
  const { body } = await skiff.api('GET', '/api/events?limit=10000');
  const said = eventSchema
    .array()
    .parse(body)
    .filter((e) => e.node === lab.nodeName(i))
    .map((e) => e.message);
  assert.ok(
    said.includes(
      `Node ${lab.nodeName(i)} is down (silent, and its replicas answer no other node): its replicas are rescheduled`,
    ),
    JSON.stringify(said.slice(-10)),
  );
}

interface Replacement {
  readonly slot: string;
  /** Where the server said its replacement was prepared; undefined: it is placed from zero. */
  readonly preparedOn: string | undefined;
}

/** The server's `Rescheduling` events for the replicas of host i, in order. */
function replacements(said: readonly string[], i: number): Replacement[] {
  const pattern = new RegExp(
    `^Rescheduling (\\S+): node lab-h${i} is down(?:; starting its replacement prepared on (lab-h\\d+))?$`,
  );
  return said.flatMap((m) => {
    const match = pattern.exec(m);
    return match ? [{ slot: match[1] as string, preparedOn: match[2] }] : [];
  });
}

/** Waits until the service has exactly its replicas, every one running, on any host. */
async function exactlyTheReplicas(service: string): Promise<void> {
  await eventually('exactly the replicas, none prepared and unstarted', async () => {
    const all = await containers(service);
    const up = all.filter((c) => c.state === 'running');
    const slots = new Set(up.map((c) => c.slot));
    return up.length === REPLICAS && slots.size === REPLICAS && all.length === REPLICAS ? true : undefined;
  });
}

async function deploy(name: string): Promise<void> {
  const response = await skiff.api('POST', '/api/deploy', {
    name,
    image: 'skiff-demo:v1',
    replicas: REPLICAS,
    placement: { strategy: 'spread' },
  });
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
}

describe('failover from prepared replicas', { timeout: 600_000 }, () => {
  before(async () => {
    lab = await Lab.up(HOSTS);
    engines = [1, 2, 3].map((i) => new Docker({ socketPath: lab.socketPath(i) }));
    // A grace long enough for a lab agent to restart on a loaded machine (it takes 3-6 s there):
    // a killed host is down on the probes' evidence at once anyway, whatever the grace.
    skiff = await SkiffCluster.startServerOnly(Lab.gateway, [
      '--address-pool',
      Lab.addressPool,
      '--node-down-after',
      '10s',
    ]);
    await lab.startAgents(skiff.url, skiff.joinToken);
    await eventually('three ready nodes', async () => {
      const nodes = nodeViewSchema.array().parse((await skiff.api('GET', '/api/nodes')).body);
      return nodes.filter((n) => n.status === 'ready').length === HOSTS;
    });
  });
  after(async () => {
    if (process.env.SKIFF_TEST_DEBUG) {
      const { body } = await skiff.api('GET', '/api/events?limit=10000');
      for (const e of eventSchema.array().parse(body))
        console.error(`${e.timestamp} ${e.node ?? '-'} ${e.message}`);
      console.error(skiff?.output.slice(-80).join('\n'));
      for (const i of [1, 2, 3])
        console.error(
          `--- lab-h${i} agent\n${readFileSync(lab.agentLogPath(i), 'utf8').split('\n').slice(-40).join('\n')}`,
        );
    }
    await skiff?.stop();
    await lab?.down();
  });

  test('an agent restart: its replicas are prepared elsewhere meanwhile, then removed; nothing moves', async () => {
    await deploy('web');
    const before = await running('web');
    const onTwo = before.filter((c) => c.host === 2).length;
    assert.equal(onTwo, REPLICAS / HOSTS, 'spread');
    await lab.killAgent(2);
    // The node is silent (its link dropped) but its replicas answer the probes: the grace stands,
    // and meanwhile its replicas' replacements wait, created, on the other two hosts.
    const prepared = await eventually(
      'its replicas prepared on lab-h1 and lab-h3',
      async () => {
        const made = (await containers('web', [1, 3])).filter((c) => c.prepared && c.state === 'created');
        return made.length === onTwo ? made : undefined;
      },
      { timeoutMs: 2_500 },
    );
    assert.deepEqual(
      new Set(prepared.map((c) => c.host)),
      new Set([1, 3]),
      'spread over both hosts, as the scheduler would place them',
    );
    await lab.startAgent(2);
    await eventually('lab-h2 ready again', async () => (await nodeStatus(2)) === 'ready', {
      timeoutMs: 20_000,
    });
    await eventually('no prepared container left', async () => {
      const left = (await containers('web')).filter((c) => c.prepared);
      return left.length === 0 ? true : undefined;
    });
    const after = await running('web');
    assert.deepEqual(
      after.map((c) => c.id).sort(),
      before.map((c) => c.id).sort(),
      'the same containers on the same hosts',
    );
    const said = await messages('web');
    assert.ok(!said.some((m) => m.startsWith('Rescheduling')), JSON.stringify(said));
  });

  test('a killed host whose replacements were prepared: they start from those very containers', async () => {
    const before = await running('web');
    const onOne = before.filter((c) => c.host === 1).length;
    // First only its agent goes (its replicas still answer: the grace stands), so every replacement
    // is prepared before the host dies; a host killed at once is the next test.
    await lab.killAgent(1);
    const prepared = await preparedOn('web', [2, 3], onOne);
    await lab.killHost(1);
    await downOnProbes(1);
    const moved = await running('web', [2, 3]);
    const fresh = moved.filter((c) => !before.some((b) => b.id === c.id));
    assert.deepEqual(
      fresh.map((c) => c.id).sort(),
      prepared.map((c) => c.id).sort(),
      `the killed host's replicas run elsewhere, each from the container prepared for it: ${JSON.stringify({ fresh, prepared })}`,
    );
    const replaced = replacements(await messages('web'), 1);
    assert.equal(replaced.length, onOne, JSON.stringify(replaced));
    for (const r of replaced) {
      const host = fresh.find((c) => `web-${c.slot}` === r.slot)?.host;
      assert.equal(r.preparedOn, host === undefined ? undefined : lab.nodeName(host), JSON.stringify(r));
    }
    await noSlotRunsTwiceWhile('web', async () => {
      await lab.startHost(1);
      await eventually('lab-h1 ready', async () => (await nodeStatus(1)) === 'ready', { timeoutMs: 30_000 });
      await exactlyTheReplicas('web');
    });
  });

  test('a host killed at once: down on the evidence, each replacement from its prepared container or made directly', async (t) => {
    // lab-h1 came back empty: lab-h3 holds half of the replicas.
    const before = await running('web');
    const onThree = before.filter((c) => c.host === 3).length;
    assert.ok(onThree > 0, JSON.stringify(before));
    // Everything of the host dies with one signal: the probes find nobody within milliseconds, so
    // the node is down before some (or all) of its replacements are prepared. Those prepared start;
    // the others are created and started as any placement; none is both, none is left behind.
    await lab.killHost(3);
    await downOnProbes(3);
    const moved = await running('web', [1, 2]);
    const fresh = moved.filter((c) => !before.some((b) => b.id === c.id));
    assert.equal(fresh.length, onThree, `the killed host's replicas run elsewhere: ${JSON.stringify(fresh)}`);
    assert.equal(new Set(moved.map((c) => c.slot)).size, REPLICAS, `one per slot: ${JSON.stringify(moved)}`);
    const all = await containers('web', [1, 2]);
    assert.deepEqual(
      all.filter((c) => c.state !== 'running'),
      [],
      'no prepared container left unstarted, nothing else made',
    );
    const replaced = replacements(await messages('web'), 3);
    assert.equal(replaced.length, onThree, JSON.stringify(replaced));
    for (const c of fresh) {
      const r = replaced.find((e) => e.slot === `web-${c.slot}`);
      assert.ok(r, `a Rescheduling event for web-${c.slot}: ${JSON.stringify(replaced)}`);
      // A replacement from a prepared container runs where the server said it was prepared.
      if (c.prepared) assert.equal(r.preparedOn, lab.nodeName(c.host), JSON.stringify({ c, r }));
    }
    // Which way each went varies with the race (both are right): said, so a run shows it.
    t.diagnostic(
      `${fresh.filter((c) => c.prepared).length} of ${fresh.length} from prepared containers, ${replaced.filter((r) => r.preparedOn).length} prepared by the server's account`,
    );
    await noSlotRunsTwiceWhile('web', async () => {
      await lab.startHost(3);
      await eventually('lab-h3 ready', async () => (await nodeStatus(3)) === 'ready', { timeoutMs: 30_000 });
      await exactlyTheReplicas('web');
    });
  });
});
