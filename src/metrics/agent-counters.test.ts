import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../sim/random.ts';
import {
  AGENT_COUNTERS,
  AgentTally,
  agentFamilies,
  CounterInterner,
  counterEntrySchema,
  histogramEntrySchema,
  LATENCY_BOUNDS_S,
  readAgentSnapshot,
  readCounterEntry,
  readHistogramEntry,
} from './agent-counters.ts';
import { proxiedRequestCounter, serviceOfRoute, statusClass } from './proxy-requests.ts';
import type { MetricFamily } from './text-format.ts';

const family = (families: MetricFamily[], name: string) => {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `${name} missing`);
  return found;
};

test("a node's services have every known counter from zero, before anything happened", () => {
  const tally = new AgentTally();
  tally.setServices([
    { service: 'web', probed: true },
    { service: 'web', probed: true },
    { service: 'db', probed: false },
  ]);
  const families = agentFamilies(new Map([['n1', tally.snapshot()]]));
  const exits = family(families, 'skiff_replica_exits_total');
  assert.equal(exits.samples.length, 2 * AGENT_COUNTERS.exits.values.length);
  assert.ok(exits.samples.every((s) => s.labels.node === 'n1' && 'value' in s && s.value === 0));
  const probeLatency = family(families, 'skiff_health_probe_duration_seconds');
  assert.deepEqual(
    probeLatency.samples.map((s) => [s.labels.service, 'count' in s ? s.count : undefined]),
    [['web', 0]],
    'only a service with a health check has probe series',
  );
  assert.deepEqual(family(families, 'skiff_proxy_requests_total').samples, [], 'nothing proxied yet');
  assert.deepEqual(family(families, 'skiff_image_pull_duration_seconds').samples, []);
  const ooms = family(families, 'skiff_replica_oom_kills_total');
  assert.deepEqual(
    ooms.samples.map((s) => s.labels),
    [
      { service: 'db', node: 'n1' },
      { service: 'web', node: 'n1' },
    ],
  );
});

test('counts and latencies survive the trip through the message, labelled by node', () => {
  const tally = new AgentTally();
  tally.count('restarts', 'web', 'error');
  tally.count('restarts', 'web', 'error');
  tally.count('restarts', 'web', 'unhealthy');
  tally.observe('probeDuration', 'web', 0.003);
  tally.observe('probeDuration', 'web', 0.2);
  tally.observe('probeDuration', 'web', 99);
  // Through JSON, as the link carries it.
  const wire = JSON.parse(JSON.stringify({ type: 'agent.metrics', ...tally.snapshot() }));
  const snapshot = readAgentSnapshot(wire);
  const families = agentFamilies(new Map([['n2', snapshot]]));
  const restarts = family(families, 'skiff_replica_restarts_total');
  assert.deepEqual(
    restarts.samples.map((s) => [s.labels.reason, 'value' in s ? s.value : undefined]),
    [
      ['error', 2],
      ['unhealthy', 1],
    ],
  );
  const probes = family(families, 'skiff_health_probe_duration_seconds');
  assert.equal(probes.type, 'histogram');
  const [sample] = probes.type === 'histogram' ? probes.samples : [];
  assert.ok(sample);
  assert.equal(sample.count, 3);
  assert.equal(sample.sum, 99.203);
  assert.equal(sample.buckets.length, LATENCY_BOUNDS_S.length);
  assert.deepEqual(
    sample.buckets.find(([bound]) => bound === 0.005),
    [0.005, 1],
  );
  assert.deepEqual(
    sample.buckets.find(([bound]) => bound === 0.25),
    [0.25, 2],
  );
  assert.deepEqual(sample.buckets.at(-1), [5, 2]);
});

test('entries a newer agent names differently, or gets wrong, are dropped one by one', () => {
  const snapshot = readAgentSnapshot({
    counters: [
      { name: 'exits', service: 'web', value: 'error', count: 1 },
      { name: 'teleports', service: 'web', value: '', count: 1 },
      { name: 'exits', service: 'web', value: 'error', count: -1 },
    ],
    histograms: [
      { name: 'probeDuration', service: 'web', counts: [1, 2], sum: 1 },
      {
        name: 'probeDuration',
        service: 'web',
        counts: new Array(LATENCY_BOUNDS_S.length + 1).fill(0),
        sum: 0,
      },
    ],
  });
  assert.equal(snapshot.counters.length, 1);
  assert.equal(snapshot.histograms.length, 1);
});

test('proxied requests count by service and status class', () => {
  assert.equal(serviceOfRoute('api-server:8080'), 'api-server');
  // The data plane's keys: a VIP port and a published one are both the service's.
  assert.equal(serviceOfRoute('api-server@default:8080'), 'api-server');
  assert.equal(serviceOfRoute('api-server:ingress:18080'), 'api-server');
  assert.equal(statusClass(204), '2xx');
  assert.equal(statusClass(503), '5xx');
  assert.equal(statusClass(undefined), 'error');
  const tally = new AgentTally();
  const count = proxiedRequestCounter(tally);
  count('web:80', 200, 0.01);
  count('web:80', undefined, 0.5);
  const { counters, histograms } = tally.snapshot();
  assert.deepEqual(
    counters.map((c) => [c.name, c.service, c.value, c.count]),
    [
      ['proxyRequests', 'web', '2xx', 1],
      ['proxyRequests', 'web', 'error', 1],
      // Once a service has been proxied, its other classes count from zero.
      ['proxyRequests', 'web', '3xx', 0],
      ['proxyRequests', 'web', '4xx', 0],
      ['proxyRequests', 'web', '5xx', 0],
    ],
  );
  assert.equal(
    histograms[0]?.counts.reduce((a, b) => a + b, 0),
    2,
  );
});

test('the hand-written entry readers agree with the schemas on 2,000 seeded random entries', () => {
  const random = seededRandom(9);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const numbers = [
    0,
    1,
    2.5,
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.MAX_SAFE_INTEGER,
    2 ** 60,
    '3',
  ];
  const texts = ['', 'web', 'x'.repeat(253), 'x'.repeat(254), 7, null];
  const names = [...Object.keys(AGENT_COUNTERS), 'probeDuration', 'proxyDuration', 'nope', 'toString', 1];
  const maybe = (entry: Record<string, unknown>, key: string): Record<string, unknown> => {
    if (random() < 0.1) delete entry[key];
    return entry;
  };
  let counters = 0;
  let histograms = 0;
  for (let i = 0; i < 2000; i++) {
    const counter = maybe(
      maybe(
        { name: pick(names), service: pick(texts), value: pick(texts), count: pick(numbers), extra: 1 },
        'value',
      ),
      'count',
    );
    const raw = random() < 0.05 ? pick([null, [], 'x', 3]) : counter;
    const expected = counterEntrySchema.safeParse(raw);
    assert.deepEqual(
      readCounterEntry(raw),
      expected.success ? expected.data : undefined,
      JSON.stringify(raw),
    );
    if (expected.success) counters++;
    const counts = Array.from({ length: pick([0, 3, 10, 64, 65]) }, () =>
      random() < 0.98 ? 1 : pick(numbers),
    );
    const histogram = maybe(
      { name: pick(names), service: pick(texts), counts: random() < 0.05 ? 'x' : counts, sum: pick(numbers) },
      'sum',
    );
    const read = histogramEntrySchema.safeParse(histogram);
    assert.deepEqual(
      readHistogramEntry(histogram),
      read.success ? read.data : undefined,
      JSON.stringify(histogram),
    );
    if (read.success) histograms++;
  }
  assert.ok(counters > 50 && histograms > 50, `both outcomes exercised: ${counters}, ${histograms}`);
});

test('the same counter entry read for two nodes is one object, and the table is bounded', () => {
  const interner = new CounterInterner(3);
  const wire = (count: number) => ({
    counters: [
      { name: 'exits', service: 'api', value: 'error', count: 0 },
      { name: 'probes', service: 'api', value: 'success', count },
    ],
    histograms: [],
  });
  const a = readAgentSnapshot(wire(5), interner);
  const b = readAgentSnapshot(wire(6), interner);
  assert.equal(a.counters[0], b.counters[0], 'the zeros are shared');
  assert.notEqual(a.counters[1], b.counters[1]);
  assert.deepEqual(b.counters[1], { name: 'probes', service: 'api', value: 'success', count: 6 });
  assert.equal(interner.size, 3);
  const c = readAgentSnapshot(wire(7), interner);
  assert.ok(interner.size <= 3, `${interner.size} entries kept, the bound is 3`);
  assert.deepEqual(c.counters[1]?.count, 7);
});
