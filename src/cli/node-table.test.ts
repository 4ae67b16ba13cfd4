import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeView } from '../model/views.ts';
import { formatNodeTable } from './node-table.ts';

function node(overrides: Partial<NodeView>): NodeView {
  return {
    id: 'n1',
    name: 'node-1',
    status: 'ready',
    availability: 'active',
    address: '10.0.0.1',
    labels: {},
    engine_version: '27.0.0',
    cpu_millicores: 2000,
    memory_bytes: Math.round(23.4 * 1024 ** 3),
    allocated_cpu_millicores: 500,
    allocated_memory_bytes: 512 * 1024 ** 2,
    containers: 3,
    joined_at: '2024-01-15T10:00:00Z',
    last_heartbeat: null,
    message: null,
    ...overrides,
  };
}

test('nodes: allocation against capacity, age and sorted labels', () => {
  const now = Date.parse('2024-01-15T10:05:30Z');
  const lines = formatNodeTable(
    [
      node({
        name: 'node-2',
        status: 'unreachable',
        labels: { zone: 'b', disk: 'ssd' },
        joined_at: '2024-01-12T09:00:00Z',
      }),
      node({}),
    ],
    now,
  );
  assert.deepEqual(lines, [
    'NAME    STATUS       ADDRESS   CPU    MEMORY        CONTAINERS  AGE  LABELS',
    'node-1  ready        10.0.0.1  0.5/2  512Mi/23.4Gi  3           5m   -',
    'node-2  unreachable  10.0.0.1  0.5/2  512Mi/23.4Gi  3           3d   disk=ssd,zone=b',
  ]);
});

test('nodes: a cordoned or draining node says so beside its status', () => {
  const lines = formatNodeTable([node({ availability: 'draining' })], Date.parse('2024-01-15T10:05:00Z'));
  assert.match(lines[1] ?? '', /^node-1\s+ready,draining\s/);
});

test('nodes: a refused agent says why in a MESSAGE column, shown only when a node has one', () => {
  const now = Date.parse('2024-01-15T10:05:00Z');
  const lines = formatNodeTable(
    [
      node({}),
      node({
        name: 'node-2',
        status: 'unreachable',
        message: 'refused: its data dir belongs to cluster c-old (last tried 2024-01-15T10:04:50.000Z)',
      }),
    ],
    now,
  );
  assert.match(lines[0] ?? '', /LABELS\s+MESSAGE$/);
  assert.match(lines[1] ?? '', /^node-1\s.*\s-$/);
  assert.match(lines[2] ?? '', /^node-2\s+unreachable\s.*refused: its data dir belongs to cluster c-old/);
  assert.doesNotMatch(formatNodeTable([node({})], now)[0] ?? '', /MESSAGE/);
});
