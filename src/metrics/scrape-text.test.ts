/**
 * The scrape's fast text (agent-text.ts, usageText) against the reference: the families as values
 * rendered by renderFamilies. Seeded random clusters, escapes included; the same text, line for
 * line, on every one, and a kept snapshot's text follows its replacement.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../sim/random.ts';
import { StatsWindow } from '../stats/stats-window.ts';
import { AGENT_COUNTERS, type AgentSnapshot, AgentTally, agentFamilies } from './agent-counters.ts';
import { AgentText } from './agent-text.ts';
import { statsUsage } from './stats-usage.ts';
import { renderFamilies } from './text-format.ts';
import { usageFamilies, usageText } from './usage-families.ts';

const NOW = 1_800_000_000_000;

const joined = (pieces: readonly Uint8Array[]) => Buffer.concat(pieces).toString('utf8');

/** Each family's lines in order of name, its samples sorted: the content, whatever the series order. */
function content(text: string): string[] {
  const families = text.split(/^(?=# HELP )/m);
  return families.map((family) => {
    const [help = '', type = '', ...samples] = family.split('\n').filter((line) => line !== '');
    return [help, type, ...samples.sort()].join('\n');
  });
}

function randomCluster(seed: number) {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const services = ['web', 'api', 'db', 'we"i\\rd\nname', 'svc-1', 'svc-10', 'svc-2'];
  const nodes = Array.from({ length: 1 + int(12) }, (_, i) => `node-${(i * 7) % 13}`);
  const snapshots = new Map<string, AgentSnapshot>();
  const window = new StatsWindow();
  for (const node of nodes) {
    const tally = new AgentTally();
    const here = services.filter(() => random() < 0.6);
    tally.setServices(here.map((service) => ({ service, probed: random() < 0.5 })));
    for (let i = int(30); i > 0; i--) {
      const service = here[int(here.length)] ?? 'web';
      const names = Object.keys(AGENT_COUNTERS) as (keyof typeof AGENT_COUNTERS)[];
      const name = names[int(names.length)] ?? 'exits';
      const values: readonly string[] = AGENT_COUNTERS[name].values;
      tally.count(name, service, values[int(values.length)] ?? '', 1 + int(5));
      tally.observe('proxyDuration', service, random() * 2);
      if (random() < 0.2) tally.observe('pullDuration', service, random() * 400);
    }
    snapshots.set(node, tally.snapshot());
    for (let round = 0; round < 2; round++) {
      window.record(
        node,
        5000,
        {
          node: {
            at: NOW - 5000 + round * 5000,
            cpu_seconds: random() * 1e6,
            cpu_count: 1 + int(8),
            memory_used_bytes: int(2 ** 33),
            memory_total_bytes: 2 ** 34,
            disk_path: '/var/lib/docker',
            disk_used_bytes: int(2 ** 40),
            disk_total_bytes: 2 ** 41,
          },
          replicas: here.flatMap((service) =>
            Array.from({ length: int(12) }, (_, slot) => ({
              task_id: `${node}-${service}-${slot}`,
              service,
              slot: slot * 3,
              container_id: `c${seed}${node}${slot}`.padEnd(64, '0'),
              at: NOW - 5000 + round * 5000,
              cpu_seconds: random() * 100,
              memory_working_set_bytes: int(2 ** 30),
              memory_limit_bytes: random() < 0.3 ? null : 2 ** 28,
              network_rx_bytes: int(2 ** 40),
              network_tx_bytes: int(2 ** 40),
              block_read_bytes: int(2 ** 40),
              block_write_bytes: int(2 ** 40),
            })),
          ),
          dropped: 0,
        },
        NOW,
      );
    }
  }
  return { snapshots, window, usage: statsUsage(window, () => NOW) };
}

test('the fast scrape text is the reference text on 200 random clusters', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const { snapshots, usage } = randomCluster(seed);
    const agents = renderFamilies(agentFamilies(snapshots));
    const text = new AgentText();
    // The agents' text line for line, built and then kept.
    assert.equal(joined(text.render(snapshots)), agents, `seed ${seed}`);
    assert.equal(joined(text.render(snapshots)), agents, `seed ${seed}, kept`);
    // The usage: usageText line for line; the kept pieces the same series, grouped by node.
    const reference = renderFamilies(usageFamilies(usage));
    assert.equal(usageText(usage), reference, `seed ${seed}`);
    assert.deepEqual(content(joined(usage.textPieces())), content(reference), `seed ${seed}, pieces`);
    assert.deepEqual(content(joined(usage.textPieces())), content(reference), `seed ${seed}, kept pieces`);
  }
});

test("a node's kept usage follows its next message, a replica another node took, and staleness", () => {
  // The first seed with replicas on two nodes.
  let seed = 1;
  while (
    new Set(
      randomCluster(seed)
        .window.replicas(NOW)
        .map((r) => r.nodeId),
    ).size < 2
  )
    seed++;
  const { window, usage } = randomCluster(seed);
  const check = () => assert.deepEqual(content(joined(usage.textPieces())), content(usageText(usage)));
  check();
  const all = window.replicas(NOW);
  const first = all[0];
  const second = all.find((series) => series.nodeId !== first?.nodeId);
  assert.ok(first && second, 'two nodes with replicas');
  // The second node reports the first node's replica as its own (its message lists it).
  const taken = {
    task_id: first.taskId,
    service: first.service,
    slot: first.slot,
    container_id: 'f'.repeat(64),
    at: NOW + 1,
    cpu_seconds: 42,
    memory_working_set_bytes: 1,
    memory_limit_bytes: null,
    network_rx_bytes: 2,
    network_tx_bytes: 3,
    block_read_bytes: 4,
    block_write_bytes: 5,
  };
  const others = window.replicasOfNode(second.nodeId, NOW).map((series) => ({
    task_id: series.taskId,
    service: series.service,
    slot: series.slot,
    container_id: series.containerId,
    ...(series.samples.last() as NonNullable<ReturnType<typeof series.samples.last>>),
  }));
  window.record(second.nodeId, 5000, { node: undefined, replicas: [...others, taken], dropped: 0 }, NOW);
  const text = joined(usage.textPieces());
  // The new container in the second node's lines (no limit: 6 families); check() finds any stale
  // copy left in the first node's kept lines (the reference has the replica once).
  assert.equal(text.split(`node="${second.nodeId}",container="ffffffffffff"`).length - 1, 6);
  check();
  // Three intervals later every node is stale: no usage at all.
  const stale = statsUsage(window, () => NOW + 20_000);
  assert.equal(joined(stale.textPieces()), joined([Buffer.from(usageText(stale))]));
  assert.doesNotMatch(joined(stale.textPieces()), /skiff_container_cpu_usage_seconds_total\{/);
});

test("a node's kept text follows its next snapshot, and a node gone takes its lines with it", () => {
  const text = new AgentText();
  const first = new AgentTally();
  first.setServices([{ service: 'web', probed: false }]);
  const snapshots = new Map([
    ['n1', first.snapshot()],
    ['n2', first.snapshot()],
  ]);
  assert.match(
    joined(text.render(snapshots)),
    /skiff_replica_exits_total\{service="web",node="n1",reason="error"\} 0\n/,
  );
  first.count('exits', 'web', 'error');
  snapshots.set('n1', first.snapshot());
  // Built as it arrives (a scrape has happened), and what the next scrape serves.
  text.prepare('n1', snapshots.get('n1') as AgentSnapshot);
  const after = joined(text.render(snapshots));
  assert.match(after, /skiff_replica_exits_total\{service="web",node="n1",reason="error"\} 1\n/);
  assert.match(after, /skiff_replica_exits_total\{service="web",node="n2",reason="error"\} 0\n/);
  snapshots.delete('n2');
  assert.doesNotMatch(joined(text.render(snapshots)), /node="n2"/);
  assert.equal(joined(text.render(snapshots)), renderFamilies(agentFamilies(snapshots)));
});
