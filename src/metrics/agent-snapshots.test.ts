/** Agents' counters are kept as they came and read at the scrape: the latest text of each node only. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAgentMetricsText } from '../server/agent-gateway.ts';
import { AgentTally, CounterInterner } from './agent-counters.ts';
import { AgentSnapshots } from './agent-snapshots.ts';

const textOf = (probes: number) => {
  const tally = new AgentTally();
  tally.setServices([{ service: 'web', probed: true }]);
  for (let i = 0; i < probes; i++) tally.count('probes', 'web', 'success');
  const { counters, histograms } = tally.snapshot();
  return Buffer.from(JSON.stringify({ type: 'agent.metrics', counters, histograms }));
};
const probesOf = (
  snapshots: ReadonlyMap<string, { counters: readonly { name: string; value: string; count: number }[] }>,
  node: string,
) => snapshots.get(node)?.counters.find((c) => c.name === 'probes' && c.value === 'success')?.count;

test('texts are read only when asked, the latest of each node; a bad one keeps the last snapshot', () => {
  const interner = new CounterInterner();
  let reads = 0;
  const logged: string[] = [];
  const read: string[] = [];
  const snapshots = new AgentSnapshots({
    read: (text) => {
      reads++;
      return readAgentMetricsText(text, interner);
    },
    onRead: (node) => read.push(node),
    log: (line) => logged.push(line),
  });
  snapshots.recordText('n1', textOf(1));
  snapshots.recordText('n1', textOf(2));
  snapshots.recordText('n2', textOf(5));
  assert.equal(reads, 0, 'nothing read as it arrives');
  assert.equal(snapshots.pending, 2);
  const all = snapshots.current(() => true);
  assert.equal(reads, 2, 'one read per node: its latest text');
  assert.equal(probesOf(all, 'n1'), 2);
  assert.equal(probesOf(all, 'n2'), 5);
  assert.deepEqual(read.sort(), ['n1', 'n2']);
  assert.equal(snapshots.pending, 0);
  snapshots.current(() => true);
  assert.equal(reads, 2, 'read once');

  snapshots.recordText('n1', Buffer.from('{"type":"agent.metrics",'));
  snapshots.recordText('n2', Buffer.from('{"type":"agent.metrics","counters":"x","histograms":[]}'));
  const after = snapshots.current((node) => node !== 'n2');
  assert.equal(probesOf(after, 'n1'), 2, 'not JSON: the last snapshot stays');
  assert.equal(after.has('n2'), false, 'a node the cluster no longer knows goes, unread');
  assert.equal(logged.length, 1);
  assert.match(logged[0] ?? '', /agent n1: dropped its agent.metrics message: not JSON/);
});

test('readAgentMetricsText: the entries, shared between equal texts; anything else is why not', () => {
  const interner = new CounterInterner();
  const a = readAgentMetricsText(textOf(3).toString(), interner);
  const b = readAgentMetricsText(textOf(3).toString(), interner);
  assert.ok(!('bad' in a) && !('bad' in b));
  assert.equal(a.counters[0], b.counters[0], 'one object for an equal entry');
  assert.deepEqual(readAgentMetricsText('{"type":"heartbeat"}', interner), { bad: 'a heartbeat message' });
  assert.ok('bad' in readAgentMetricsText('{"type":"from.the.future"}', interner));
});
