/**
 * The stats samples' readers against their schemas: on seeded inputs (a valid sample with fields
 * changed to edge values, removed, or added), `readReplicaSample` / `readNodeSample` accept what
 * `replicaSampleSchema` / `nodeSampleSchema` accept, and give the same value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_EPOCH_MS } from '../model/bounds.ts';
import {
  nodeSampleSchema,
  readNodeSample,
  readReplicaSample,
  readStatsSamples,
  replicaSampleSchema,
} from './stats-message.ts';

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const ABSENT = Symbol('absent');
const numbers = [
  0,
  -0,
  1,
  0.5,
  -1,
  42,
  1_000_000,
  1_000_001,
  100_000,
  100_001,
  1.5e12,
  MAX_EPOCH_MS,
  MAX_EPOCH_MS + 1,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];
const others = [
  '',
  'a',
  'x'.repeat(256),
  'x'.repeat(257),
  'é'.repeat(200),
  '😀'.repeat(128),
  '😀'.repeat(129),
  '😀'.repeat(256),
  '😀'.repeat(257),
  `${'x'.repeat(255)}\ud800`,
  `\udc00${'😀'.repeat(255)}\ud800`,
  '😀'.repeat(2048),
  '😀'.repeat(2049),
  '12',
  'x'.repeat(4096),
  'x'.repeat(4097),
  null,
  undefined,
  ABSENT,
  true,
  [],
  [1],
  {},
  { a: 1 },
];
const values: readonly unknown[] = [...numbers, ...others];

const validReplica = {
  task_id: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  service: 'web',
  slot: 3,
  container_id: 'c0ffee',
  at: 1_760_000_000_000,
  cpu_seconds: 12.5,
  memory_working_set_bytes: 1024,
  memory_limit_bytes: null,
  network_rx_bytes: 1,
  network_tx_bytes: 2,
  block_read_bytes: 3,
  block_write_bytes: 4,
  pids: 5,
};
const validNode = {
  at: 1_760_000_000_000,
  cpu_seconds: 1000.25,
  cpu_count: 2,
  memory_used_bytes: 1,
  memory_total_bytes: 2,
  disk_path: '/var/lib/docker',
  disk_used_bytes: 3,
  disk_total_bytes: 4,
};

function mutated(valid: Record<string, unknown>, random: () => number): unknown {
  const roll = random();
  if (roll < 0.03) return values[Math.floor(random() * values.length)];
  if (roll < 0.05) return [valid];
  const raw: Record<string, unknown> = { ...valid };
  const keys = Object.keys(valid);
  const changes = Math.floor(random() * 3);
  for (let i = 0; i < changes; i++) {
    const key = random() < 0.9 ? (keys[Math.floor(random() * keys.length)] ?? 'at') : 'extra';
    const value = values[Math.floor(random() * values.length)];
    if (value === ABSENT) delete raw[key];
    else raw[key] = value;
  }
  return raw;
}

function compare(
  name: string,
  valid: Record<string, unknown>,
  schema: { safeParse(raw: unknown): { success: boolean; data?: unknown } },
  read: (raw: unknown) => unknown,
  seed: number,
): void {
  const random = seeded(seed);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const raw = mutated(valid, random);
    const expected = schema.safeParse(raw);
    const actual = read(raw);
    const shown = () =>
      `${name} #${i}: ${JSON.stringify(raw, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}`;
    if (expected.success) {
      accepted++;
      assert.deepStrictEqual(actual, expected.data, shown());
    } else {
      refused++;
      assert.equal(actual, undefined, shown());
    }
  }
  assert.ok(accepted > 2000 && refused > 2000, `${name}: both outcomes drawn (${accepted} / ${refused})`);
}

test('readReplicaSample accepts what replicaSampleSchema accepts, and gives its value', () => {
  compare('replica', validReplica, replicaSampleSchema, readReplicaSample, 7);
  compare(
    'replica without pids',
    { ...validReplica, pids: undefined },
    replicaSampleSchema,
    readReplicaSample,
    8,
  );
});

test('readNodeSample accepts what nodeSampleSchema accepts, and gives its value', () => {
  compare('node', validNode, nodeSampleSchema, readNodeSample, 9);
});

test('readStatsSamples keeps the well-formed samples and counts the rest', () => {
  const { slot: _, ...noSlot } = validReplica;
  const read = readStatsSamples({
    type: 'stats',
    interval_ms: 5000,
    node: { ...validNode, cpu_count: 0 },
    replicas: [validReplica, noSlot, { ...validReplica, task_id: 'b', extra: 1 }],
  });
  assert.deepEqual(
    read.replicas.map((r) => r.task_id),
    [validReplica.task_id, 'b'],
  );
  assert.equal('extra' in (read.replicas[1] ?? {}), false, 'unknown fields are left out');
  assert.equal(read.node, undefined);
  assert.equal(read.dropped, 2);
});
