/**
 * Heartbeats scale with the cluster whatever order the nodes joined in: the first agents to join
 * were told the base interval, and are told a longer one as the cluster grows (those that take
 * `heartbeat.interval`), so 1,000 nodes joined one by one beat at most MAX_HEARTBEATS_PER_S times a
 * second (and at least 1/RETELL_GROWTH of it).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AGENT_FEATURES, BASELINE_FEATURES } from '../protocol/features.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import { Cluster } from './cluster.ts';
import { heartbeatIntervalMs, MAX_HEARTBEATS_PER_S, RETELL_GROWTH } from './node-liveness.ts';
import { registration } from './pass-fixture.ts';
import { MAX_STATS_PER_S, STATS_BASE_MS, statsIntervalMs } from './stats-cadence.ts';

const BASE_MS = 500;

test('1,000 nodes joined one by one beat at most as often as the server should hear, each re-told a few times', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cluster-heartbeats-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  try {
    const cluster = new Cluster(store, 0);
    const told = new Map<string, number[]>();
    for (let i = 0; i < 1000; i++) {
      const name = `n${String(i).padStart(4, '0')}`;
      // Node 7 is an older agent: it never hears of a new interval.
      const features = i === 7 ? BASELINE_FEATURES : AGENT_FEATURES;
      const said: number[] = [];
      told.set(name, said);
      const link = {
        send: (m: ServerMessage) => {
          if (m.type === 'heartbeat.interval') said.push(m.heartbeat_interval_ms);
        },
        close() {},
      };
      const outcome = cluster.connect(registration(name), link, i, features);
      assert.ok(outcome.ok);
      // What the gateway does at a hello: the newcomer's interval, then the others re-told.
      const intervalMs = heartbeatIntervalMs(BASE_MS, cluster.size);
      outcome.session.heartbeatIntervalMs = intervalMs;
      cluster.retellHeartbeatIntervals(intervalMs);
    }
    const intervals = [...cluster.sessions()]
      .filter((s) => s.id !== 'n0007')
      .map((s) => s.heartbeatIntervalMs ?? BASE_MS);
    const beatsPerS = intervals.reduce((sum, ms) => sum + 1000 / ms, 0);
    // Without re-telling: 80 + 100·ln 25 ≈ 400 a second. Told ahead, at or under the cap.
    assert.ok(beatsPerS <= MAX_HEARTBEATS_PER_S, `${beatsPerS.toFixed(1)} beats a second`);
    assert.ok(
      beatsPerS >= MAX_HEARTBEATS_PER_S / RETELL_GROWTH - 1,
      `${beatsPerS.toFixed(1)} beats a second`,
    );
    assert.deepEqual(told.get('n0007'), [], 'an agent without the feature is told nothing');
    assert.equal(cluster.get('n0007')?.heartbeatIntervalMs, BASE_MS, 'and judged by what it was told');
    const counts = [...told.values()].map((said) => said.length);
    // Re-told at each 25% of growth from the size where the base is too short (50 nodes).
    const growth = 1000 / ((BASE_MS * MAX_HEARTBEATS_PER_S) / 1000);
    const most = Math.ceil(Math.log(growth) / Math.log(RETELL_GROWTH));
    assert.ok(Math.max(...counts) <= most, `at most ${Math.max(...counts)} re-tellings an agent`);
    for (const said of told.values())
      assert.ok(
        said.every((ms, i) => i === 0 || ms > (said[i - 1] ?? 0)),
        'only ever longer',
      );
  } finally {
    void store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('1,000 nodes joined one by one send stats at a few dozen a second; the first five keep 5 s until the cluster is large', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-cluster-stats-'));
  const store = new SqliteStore(join(dir, 'skiff.db'));
  try {
    const cluster = new Cluster(store, 0);
    const statsMs = new Map<string, number>();
    let atFive: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const name = `n${String(i).padStart(4, '0')}`;
      const link = {
        send: (m: ServerMessage) => {
          if (m.type === 'heartbeat.interval' && m.stats_interval_ms !== undefined)
            statsMs.set(name, m.stats_interval_ms);
        },
        close() {},
      };
      const outcome = cluster.connect(registration(name), link, i, AGENT_FEATURES);
      assert.ok(outcome.ok);
      // The gateway's welcome: the newcomer's intervals, then the others re-told.
      statsMs.set(name, statsIntervalMs(STATS_BASE_MS, cluster.size));
      const intervalMs = heartbeatIntervalMs(BASE_MS, cluster.size);
      outcome.session.heartbeatIntervalMs = intervalMs;
      cluster.retellHeartbeatIntervals(intervalMs);
      if (i === 4) atFive = [...statsMs.values()];
    }
    assert.deepEqual(atFive, [5000, 5000, 5000, 5000, 5000], 'a 5-node cluster keeps 5 s');
    const perS = [...statsMs.values()].reduce((sum, ms) => sum + 1000 / ms, 0);
    assert.ok(perS <= MAX_STATS_PER_S * RETELL_GROWTH + 2, `${perS.toFixed(0)} stats a second`);
  } finally {
    void store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
