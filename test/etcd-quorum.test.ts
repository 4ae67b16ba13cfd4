/**
 * A server on a 3-member etcd cluster of its own while members die (no Docker: the API alone):
 * the etcd leader killed → writes stall through the election but every one succeeds; a second
 * member killed → writes are refused with 503 naming the lost quorum, reads still answer from the
 * mirror; both back → writes are accepted again and the state is whole.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { RunningServer } from '../src/server/skiff-server.ts';
import { startServer } from '../src/server/skiff-server.ts';
import { EtcdStore } from '../src/store/etcd/etcd-store.ts';
import type { EtcdCluster } from './support/etcd.ts';
import { startEtcdCluster, testPrefix } from './support/etcd.ts';
import { eventually } from './support/eventually.ts';

let etcd: EtcdCluster;
let server: RunningServer;
let dataDir: string;
const logged: string[] = [];

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.tokens.admin}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/** The index of the member etcd currently has as its leader. */
async function leaderIndex(): Promise<number> {
  const client = new Etcd3({ hosts: [...etcd.endpoints] });
  try {
    const status = await client.maintenance.status();
    const index = await Promise.all(
      etcd.endpoints.map(async (endpoint) => {
        const one = new Etcd3({ hosts: endpoint });
        try {
          return (await one.maintenance.status()).header.member_id;
        } finally {
          one.close();
        }
      }),
    ).then((ids) => ids.indexOf(status.leader));
    assert.ok(index >= 0, 'the leader is one of the members');
    return index;
  } finally {
    client.close();
  }
}

describe('a server while etcd loses members', { timeout: 180_000 }, () => {
  before(async () => {
    etcd = await startEtcdCluster();
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-quorum-'));
    server = await startServer({
      dataDir,
      port: 0,
      listen: '127.0.0.1',
      store: {
        kind: 'etcd',
        endpoints: etcd.endpoints.map((e) => e.replace(/^\w+:\/\//, '')),
        prefix: testPrefix('quorum'),
        tls: {},
      },
      log: (message) => logged.push(message),
    });
  });
  after(async () => {
    if (process.exitCode) console.error(logged.slice(-40).join('\n'));
    await server?.close();
    await etcd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    // In CI this file once passed and then its process stayed alive on a handle (a gRPC channel
    // to a killed member, most likely), holding the whole run. Once everything above is closed,
    // the process gets a few seconds to end by itself, then ends with the status it has. The
    // handle itself is to be found (see the session-3 note).
    setTimeout(() => process.exit(process.exitCode ?? 0), 5000).unref();
  });

  test('one member lost, the leader: every write succeeds, stalled at most through the election', async (t) => {
    assert.equal(
      (await api('POST', '/api/deploy', { name: 'a', image: 'skiff-demo:v1', replicas: 1 })).status,
      201,
    );
    const leader = await leaderIndex();
    await etcd.kill(leader);
    let slowestMs = 0;
    for (let i = 2; i <= 8; i++) {
      const started = performance.now();
      const answer = await api('POST', '/api/services/a/scale', { replicas: i });
      slowestMs = Math.max(slowestMs, performance.now() - started);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }
    // The election takes 1–1.5 s with these timings; a write may wait for it, and the settle after it.
    assert.ok(slowestMs < 5000, `slowest write ${Math.round(slowestMs)} ms`);
    t.diagnostic(`slowest write through the etcd leader's death: ${Math.round(slowestMs)} ms`);
    const services = (await api('GET', '/api/services')).body as { name: string; replicas: number }[];
    assert.equal(services.find((s) => s.name === 'a')?.replicas, 8);
    await etcd.restart(leader);
    await etcd.waitHealthy();
  });

  test('two members lost: writes refused with 503 naming the quorum, reads still served; all resumes after', async (t) => {
    const [first, second] = [0, 1];
    await etcd.kill(first);
    await etcd.kill(second);
    const askedAt = performance.now();
    const refused = await api('POST', '/api/deploy', { name: 'b', image: 'skiff-demo:v1', replicas: 1 });
    t.diagnostic(
      `refused after ${Math.round(performance.now() - askedAt)} ms: ${JSON.stringify(refused.body)}`,
    );
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.match((refused.body as { error: string }).error, /quorum|no leader|etcd/);
    const read = await api('GET', '/api/services');
    assert.equal(read.status, 200);
    assert.deepEqual(
      (read.body as { name: string }[]).map((s) => s.name),
      ['a'],
      'the refused deploy is not shown; the last state is',
    );
    assert.equal(server.store.health().writable, false);
    assert.match(server.store.health().problem ?? '', /quorum|etcd/);
    await etcd.restart(first);
    await etcd.restart(second);
    await etcd.waitHealthy(30_000);
    await eventually(
      'a deploy accepted again',
      async () => {
        // 200 too: a deploy refused for want of an answer in time may have been applied after all.
        const answer = await api('POST', '/api/deploy', { name: 'b', image: 'skiff-demo:v1', replicas: 1 });
        if (answer.status !== 201 && answer.status !== 200) throw new Error(JSON.stringify(answer));
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const names = ((await api('GET', '/api/services')).body as { name: string }[]).map((s) => s.name);
    assert.deepEqual(names, ['a', 'b']);
    // The deploy that got through may have written nothing (applied by an attempt refused in
    // time): health recovers from the store's own quorum read, within a second or two.
    await eventually(
      'the store writable again',
      async () => {
        const health = server.store.health();
        if (!health.writable) throw new Error(`still unwritable: ${health.problem}`);
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  });

  test("whichever member a watch is on dies, another server's writes still reach the mirror", async () => {
    const open = () =>
      EtcdStore.open({
        endpoints: etcd.endpoints,
        prefix: testPrefix('watch-failover'),
        compactEveryMs: 0,
        alarmCheckMs: 0,
      });
    const writer = await open();
    const reader = await EtcdStore.open({
      endpoints: etcd.endpoints,
      prefix: writer.prefix,
      compactEveryMs: 0,
      alarmCheckMs: 0,
    });
    try {
      for (const member of [0, 1, 2]) {
        await etcd.kill(member);
        writer.setMeta('seen', `while m${member} is down`);
        await writer.durable();
        await eventually(
          `the reader to see the write made while m${member} is down`,
          () => reader.getMeta('seen') === `while m${member} is down` || undefined,
          { timeoutMs: 15_000 },
        );
        await etcd.restart(member);
        await etcd.waitHealthy(30_000);
      }
    } finally {
      await writer.close();
      await reader.close();
    }
  });
});
