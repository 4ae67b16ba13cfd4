/**
 * What `nodes` prints: one row per node with its allocation against capacity, age and labels,
 * and a MESSAGE column when some node has something to say (an agent refused for belonging to
 * another cluster). Pure; `now` (epoch ms) is passed for the age.
 */
import type { NodeView } from '../model/views.ts';
import { formatBytes, formatCores, formatSpan } from './human-units.ts';
import { formatTable } from './table.ts';

export const NODE_COLUMNS = [
  'NAME',
  'STATUS',
  'ADDRESS',
  'CPU',
  'MEMORY',
  'CONTAINERS',
  'AGE',
  'LABELS',
] as const;

export function formatNodeTable(nodes: readonly NodeView[], nowMs: number): string[] {
  const sorted = [...nodes].sort((a, b) => a.name.localeCompare(b.name));
  const withMessage = sorted.some((node) => node.message !== null);
  const rows = sorted.map((node) => [
    node.name,
    node.availability === 'active' ? node.status : `${node.status},${node.availability}`,
    node.address,
    `${formatCores(node.allocated_cpu_millicores)}/${formatCores(node.cpu_millicores)}`,
    `${formatBytes(node.allocated_memory_bytes)}/${formatBytes(node.memory_bytes)}`,
    String(node.containers),
    ageCell(node.joined_at, nowMs),
    labelsCell(node.labels),
  ]);
  if (!withMessage) return formatTable(NODE_COLUMNS, rows);
  return formatTable(
    [...NODE_COLUMNS, 'MESSAGE'],
    rows.map((row, index) => [...row, sorted[index]?.message ?? '-']),
  );
}

function ageCell(joinedAt: string, nowMs: number): string {
  const joinedMs = Date.parse(joinedAt);
  return Number.isNaN(joinedMs) ? '-' : formatSpan(nowMs - joinedMs);
}

function labelsCell(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
  return pairs.length === 0 ? '-' : pairs.join(',');
}
