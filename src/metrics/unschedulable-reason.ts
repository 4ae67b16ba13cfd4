/**
 * Why a replica is pending, as a label value: the scheduler's explanation
 * (`0/5 nodes available: 3 insufficient memory, 2 node down`) names counts and nodes, which would
 * make a series per message; its most common rejection is one of a few kinds.
 */

export const UNSCHEDULABLE_REASONS = [
  'no_nodes',
  'node_not_ready',
  'node_cordoned',
  'missing_feature',
  'constraint',
  'insufficient_cpu',
  'insufficient_memory',
  'port_in_use',
  'other',
] as const;
export type UnschedulableReason = (typeof UNSCHEDULABLE_REASONS)[number];

const PATTERNS: readonly (readonly [RegExp, UnschedulableReason])[] = [
  [/no nodes have joined/, 'no_nodes'],
  [/^node (unreachable|down)/, 'node_not_ready'],
  [/^node cordoned/, 'node_cordoned'],
  [/^agent lacks feature/, 'missing_feature'],
  [/^constraint /, 'constraint'],
  [/^insufficient cpu/, 'insufficient_cpu'],
  [/^insufficient memory/, 'insufficient_memory'],
  [/^port \d+ in use/, 'port_in_use'],
];

/** The kind of the first (most common) rejection in a pending reason. */
export function unschedulableReason(pendingReason: string | null): UnschedulableReason {
  if (pendingReason === null) return 'other';
  const available = /^0\/\d+ nodes available: (.*)$/.exec(pendingReason);
  // "3 insufficient memory, 2 node down": the first part, without its count.
  const first = available ? ((available[1] ?? '').split(', ')[0]?.replace(/^\d+ /, '') ?? '') : pendingReason;
  for (const [pattern, reason] of PATTERNS) if (pattern.test(first)) return reason;
  return 'other';
}
