/**
 * `GET /metrics` through the API's fixture (the real store, cluster and controller, a fake agent
 * link): any role's token, the text format, the cluster's families, counters from zero, rollouts
 * counted by result so the success rate is one expression, API requests by route pattern.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { FakeNode, Fixture } from '../api/test-fixture.ts';
import { createFixture, reportAssigned } from '../api/test-fixture.ts';
import { createdTokenViewSchema } from '../model/access-views.ts';
import type { TaskObservation } from '../model/task.ts';
import { TEXT_CONTENT_TYPE } from './text-format.ts';

let f: Fixture;
let node: FakeNode;

beforeEach(() => {
  f = createFixture();
  node = f.connectNode('n1', { cpuMillicores: 2000 });
});
afterEach(() => f.close());

const SPEC = { name: 'web', image: 'skiff-demo:v1', replicas: 1, update: { min_healthy_time: '0s' } };

function report(state: TaskObservation['state'], only?: (taskId: string) => boolean): void {
  const message = state === 'failed' ? 'pull 127.0.0.1:1/none:latest: connection refused' : null;
  reportAssigned(f, node, state, message, only);
}

/** Every sample line as `name{labels}` → value. */
async function scrape(headers?: Record<string, string>): Promise<Map<string, number>> {
  const res = await f.call('GET', '/metrics', undefined, headers);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), TEXT_CONTENT_TYPE);
  const samples = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('GET /metrics', () => {
  test('needs a token of any role: a viewer suffices, none is a 401', async () => {
    const created = await f.call('POST', '/api/tokens', { name: 'prometheus', role: 'viewer' });
    const { token } = createdTokenViewSchema.parse(created.body);
    assert.equal((await f.raw('/metrics')).status, 401);
    assert.equal((await f.raw('/metrics', { headers: { authorization: 'Bearer nope' } })).status, 401);
    const samples = await scrape({ authorization: `Bearer ${token}` });
    assert.equal(samples.get('skiff_server_leader'), 1);
  });

  test('services, replicas and nodes as the cluster holds them; unschedulable replicas by reason', async () => {
    await f.call('POST', '/api/deploy', { ...SPEC, replicas: 2, resources: { cpus: 1.5 } });
    report('running');
    const samples = await scrape();
    assert.equal(samples.get('skiff_service_replicas_desired{service="web"}'), 2);
    assert.equal(samples.get('skiff_service_replicas_running{service="web"}'), 1);
    assert.equal(samples.get('skiff_service_status{service="web",status="pending"}'), 1);
    assert.equal(samples.get('skiff_service_status{service="web",status="running"}'), 0);
    assert.equal(samples.get('skiff_replicas_unschedulable{reason="insufficient_cpu"}'), 1);
    assert.equal(samples.get('skiff_replicas_unschedulable{reason="port_in_use"}'), 0);
    assert.equal(samples.get('skiff_node_capacity_cpu_cores{node="n1"}'), 2);
    assert.equal(samples.get('skiff_node_allocated_cpu_cores{node="n1"}'), 1.5);
    assert.equal(samples.get('skiff_node_status{node="n1",status="ready"}'), 1);
    assert.equal(samples.get('skiff_node_status{node="n1",status="down"}'), 0);
    assert.equal(samples.get('skiff_agent_connected{node="n1"}'), 1);
    assert.equal(samples.get('skiff_scheduling_latency_seconds_count'), 1);
  });

  test('rollouts count by result from zero, so the success rate is succeeded over all', async () => {
    await f.call('POST', '/api/deploy', SPEC);
    const before = await scrape();
    assert.equal(before.get('skiff_rollouts_total{service="web",result="succeeded"}'), 0);
    assert.equal(before.get('skiff_rollouts_total{service="web",result="rolled_back"}'), 0);
    report('running');
    const oldTask = node.lastAssign()?.tasks[0]?.task_id;
    await f.call('POST', '/api/deploy', { ...SPEC, image: '127.0.0.1:1/none:latest' });
    report('failed', (id) => id !== oldTask);
    f.controller.sync();
    const after = await scrape();
    assert.equal(after.get('skiff_rollouts_total{service="web",result="succeeded"}'), 1);
    assert.equal(after.get('skiff_rollouts_total{service="web",result="rolled_back"}'), 1);
    assert.equal(after.get('skiff_rollouts_total{service="web",result="failed"}'), 0);
  });

  test('API requests are counted by route pattern, not path; unknown paths are one series', async () => {
    await f.call('GET', '/api/services/one');
    await f.call('GET', '/api/services/two');
    await f.call('GET', '/api/no/such/route');
    const samples = await scrape();
    assert.equal(
      samples.get('skiff_api_requests_total{method="GET",route="/api/services/:name",status="404"}'),
      2,
    );
    assert.equal(samples.get('skiff_api_requests_total{method="GET",route="unmatched",status="404"}'), 1);
    assert.ok(![...samples.keys()].some((key) => key.includes('/api/services/one')));
  });

  test('replica and node usage from the stats window, cAdvisor-style, one series per container', async () => {
    const at = f.clock;
    const replica = (containerId: string, cpuSeconds: number) => ({
      task_id: `task-${containerId}`,
      service: 'web',
      slot: 0,
      container_id: `${containerId}0000000000000000`,
      at,
      cpu_seconds: cpuSeconds,
      memory_working_set_bytes: 5_000_000,
      memory_limit_bytes: 67_108_864,
      network_rx_bytes: 10,
      network_tx_bytes: 20,
      block_read_bytes: 30,
      block_write_bytes: 40,
    });
    f.stats.record(
      'n1',
      5000,
      {
        node: {
          at,
          cpu_seconds: 1234.5,
          cpu_count: 2,
          memory_used_bytes: 1e9,
          memory_total_bytes: 4e9,
          disk_path: '/var/lib/docker',
          disk_used_bytes: 5e9,
          disk_total_bytes: 2e10,
        },
        // Two containers of one slot on one node (a rollout's old and new): two series.
        replicas: [replica('aaaaaaaaaaaa', 1.5), replica('bbbbbbbbbbbb', 0.25)],
        dropped: 0,
      },
      at,
    );
    const samples = await scrape();
    const labels = 'service="web",replica="web-0",node="n1"';
    assert.equal(
      samples.get(`skiff_container_cpu_usage_seconds_total{${labels},container="aaaaaaaaaaaa"}`),
      1.5,
    );
    assert.equal(
      samples.get(`skiff_container_cpu_usage_seconds_total{${labels},container="bbbbbbbbbbbb"}`),
      0.25,
    );
    assert.equal(
      samples.get(`skiff_container_memory_working_set_bytes{${labels},container="aaaaaaaaaaaa"}`),
      5e6,
    );
    assert.equal(
      samples.get(`skiff_container_spec_memory_limit_bytes{${labels},container="aaaaaaaaaaaa"}`),
      67108864,
    );
    assert.equal(samples.get('skiff_node_cpu_usage_seconds_total{node="n1"}'), 1234.5);
    assert.equal(samples.get('skiff_node_disk_total_bytes{node="n1"}'), 2e10);
  });

  test('a deleted service takes its series with it', async () => {
    await f.call('POST', '/api/deploy', SPEC);
    assert.ok((await scrape()).has('skiff_rollouts_total{service="web",result="failed"}'));
    await f.call('DELETE', '/api/services/web');
    f.controller.sync();
    const samples = await scrape();
    assert.ok(
      ![...samples.keys()].some((key) => key.includes('service="web"')),
      [...samples.keys()].join('\n'),
    );
  });
});
