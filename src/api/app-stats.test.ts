/**
 * The stats routes over a real window: what agents reported, as figures; one service's replicas;
 * an unknown service; the follow stream's first line and its next one after a report.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ReplicaSampleWire } from '../protocol/stats-message.ts';
import { clusterStatsSchema, serviceStatsSchema } from '../stats/stats-schema.ts';
import type { Fixture } from './test-fixture.ts';
import { AUTH, createFixture, GiB } from './test-fixture.ts';

const MiB = 1024 * 1024;

function sample(service: string, slot: number, atMs: number, cpuSeconds: number): ReplicaSampleWire {
  return {
    task_id: `${service}-${slot}-task`,
    service,
    slot,
    container_id: `${service}-${slot}-container`,
    at: atMs,
    cpu_seconds: cpuSeconds,
    memory_working_set_bytes: 32 * MiB,
    memory_limit_bytes: 64 * MiB,
    network_rx_bytes: 1000,
    network_tx_bytes: 2000,
    block_read_bytes: 0,
    block_write_bytes: 4096,
    pids: 2,
  };
}

const node = (atMs: number, cpuSeconds: number) => ({
  at: atMs,
  cpu_seconds: cpuSeconds,
  cpu_count: 2,
  memory_used_bytes: 2 * GiB,
  memory_total_bytes: 8 * GiB,
  disk_path: '/var/lib/docker',
  disk_used_bytes: 5 * GiB,
  disk_total_bytes: 20 * GiB,
});

describe('stats routes', () => {
  let f: Fixture;
  before(async () => {
    f = createFixture();
    assert.equal(
      (await f.call('POST', '/api/deploy', { name: 'web', image: 'skiff-demo:v1', replicas: 2 })).status,
      201,
    );
    const t0 = f.clock;
    const report = (atMs: number, cpu: number) =>
      f.stats.record(
        'node-1',
        5000,
        {
          node: node(atMs, cpu),
          replicas: [sample('web', 0, atMs, cpu), sample('web', 1, atMs, 1), sample('db', 0, atMs, 1)],
          dropped: 0,
        },
        atMs,
      );
    report(t0 - 5000, 10);
    report(t0, 20);
  });
  after(() => f.close());

  test('GET /api/stats: every replica with CPU % of a core, memory share, and each node', async () => {
    const res = await f.call('GET', '/api/stats');
    assert.equal(res.status, 200, res.text);
    const stats = clusterStatsSchema.parse(res.body);
    assert.deepEqual(
      stats.replicas.map((r) => [r.replica, r.cpu_percent]),
      [
        ['db-0', 0],
        ['web-0', 200],
        ['web-1', 0],
      ],
    );
    assert.equal(stats.replicas[1]?.memory_percent, 50);
    assert.equal(stats.nodes[0]?.node, 'node-1');
    assert.equal(stats.nodes[0]?.cpu_percent, 100);
    assert.equal(stats.nodes[0]?.disk_percent, 25);
  });

  test('GET /api/services/web/stats: that service only; an unknown service is a 404', async () => {
    const res = await f.call('GET', '/api/services/web/stats');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(
      serviceStatsSchema.parse(res.body).replicas.map((r) => r.replica),
      ['web-0', 'web-1'],
    );
    assert.equal((await f.call('GET', '/api/services/nope/stats')).status, 404);
  });

  test('stats go stale: a node silent for three intervals is left out', async () => {
    const saved = f.clock;
    f.clock = saved + 15_001;
    const stats = clusterStatsSchema.parse((await f.call('GET', '/api/stats')).body);
    f.clock = saved;
    assert.deepEqual(stats.replicas, []);
    assert.deepEqual(stats.nodes, []);
  });

  test('follow=true: the figures at once, then a line after the next report', async () => {
    const controller = new AbortController();
    const response = await f.app.request('/api/stats?follow=true', {
      headers: AUTH,
      signal: controller.signal,
    });
    assert.equal(response.headers.get('content-type'), 'application/x-ndjson');
    const reader = response.body?.getReader();
    assert.ok(reader);
    const decoder = new TextDecoder();
    let buffered = '';
    const nextLine = async (): Promise<string> => {
      for (;;) {
        const newline = buffered.indexOf('\n');
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return line;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffered += decoder.decode(value, { stream: true });
      }
    };
    const first = clusterStatsSchema.parse(JSON.parse(await nextLine()));
    assert.equal(first.replicas.length, 3);
    f.stats.record(
      'node-1',
      5000,
      { node: undefined, replicas: [sample('web', 0, f.clock + 5000, 25)], dropped: 0 },
      f.clock,
    );
    const second = clusterStatsSchema.parse(JSON.parse(await nextLine()));
    assert.deepEqual(
      second.replicas.map((r) => [r.replica, r.cpu_percent]),
      [['web-0', 100]],
    );
    await reader.cancel();
    controller.abort();
  });
});
