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
  return { snapshots, usage: statsUsage(window, () => NOW) };
}

test('the fast scrape text is the reference text, line for line, on 200 random clusters', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const { snapshots, usage } = randomCluster(seed);
    const reference = renderFamilies([...agentFamilies(snapshots), ...usageFamilies(usage)]);
    const text = new AgentText();
    assert.equal(text.render(snapshots) + usageText(usage), reference, `seed ${seed}`);
    // Again, from the kept pieces.
    assert.equal(text.render(snapshots) + usageText(usage), reference, `seed ${seed}, kept`);
  }
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
    text.render(snapshots),
    /skiff_replica_exits_total\{service="web",node="n1",reason="error"\} 0\n/,
  );
  first.count('exits', 'web', 'error');
  snapshots.set('n1', first.snapshot());
  const after = text.render(snapshots);
  assert.match(after, /skiff_replica_exits_total\{service="web",node="n1",reason="error"\} 1\n/);
  assert.match(after, /skiff_replica_exits_total\{service="web",node="n2",reason="error"\} 0\n/);
  snapshots.delete('n2');
  assert.doesNotMatch(text.render(snapshots), /node="n2"/);
  assert.equal(text.render(snapshots), renderFamilies(agentFamilies(snapshots)));
});
