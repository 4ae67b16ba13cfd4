import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UNSCHEDULABLE_REASONS, unschedulableReason } from './unschedulable-reason.ts';

test("the scheduler's explanations map to a few reasons, by their most common rejection", () => {
  const cases: [string | null, string][] = [
    ['no nodes have joined the cluster', 'no_nodes'],
    ['0/5 nodes available: 3 insufficient memory, 2 node down', 'insufficient_memory'],
    ['0/2 nodes available: 2 insufficient cpu', 'insufficient_cpu'],
    ['0/3 nodes available: 2 node unreachable, 1 insufficient cpu', 'node_not_ready'],
    ['0/1 nodes available: 1 node cordoned', 'node_cordoned'],
    ['0/1 nodes available: 1 agent lacks feature exec-health (upgrade its agent)', 'missing_feature'],
    ['0/4 nodes available: 4 constraint zone==eu-1 not met', 'constraint'],
    ['0/1 nodes available: 1 port 80 in use', 'port_in_use'],
    ['something new', 'other'],
    [null, 'other'],
  ];
  const seen = new Set<string>();
  for (const [text, reason] of cases) {
    assert.equal(unschedulableReason(text), reason, String(text));
    seen.add(reason);
  }
  // Every reason is reachable: a label value nothing produces would be a panel that never moves.
  assert.deepEqual([...seen].sort(), [...UNSCHEDULABLE_REASONS].sort());
});
