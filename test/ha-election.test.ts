/**
 * Elections among three real servers on a real etcd, without agents or Docker: each round the
 * leader is cut off from etcd (netfilter, test/support/ha-servers.ts) and another takes over, the
 * cut-off one is healed and follows, then the new leader is killed and a server that was cut off
 * before must be able to win. (A healed server that never noticed its lease had expired would
 * never campaign again, and two partitions later the cluster would have no leader.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sharedEtcdEndpoints, testPrefix } from './support/etcd.ts';
import { eventually } from './support/eventually.ts';
import { HaServers } from './support/ha-servers.ts';

let ha: HaServers;

before(async () => {
  ha = await HaServers.start({
    count: 3,
    host: '127.0.0.1',
    etcdEndpoints: await sharedEtcdEndpoints(),
    prefix: testPrefix('ha-election'),
  });
});

after(async () => {
  await ha?.stop();
});

async function leaderOtherThan(old: number): Promise<number> {
  return await eventually(
    `a leader other than server ${old}`,
    async () => {
      const leader = await ha.leader();
      return leader !== undefined && leader !== old ? leader : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

test('skiff_server_leader is 1 on the leader and 0 on the others', async () => {
  const leader = await eventually('a leader', () => ha.leader(), { timeoutMs: 15_000 });
  const gauges = await eventually(
    'every server reports its part',
    async () => {
      const values = await Promise.all(
        [0, 1, 2].map(async (i) => {
          const scrape = await ha.api(i, 'GET', '/metrics');
          return /^skiff_server_leader (\d)$/m.exec(String(scrape.body))?.[1];
        }),
      );
      return values.filter((v) => v === '1').length === 1 ? values : undefined;
    },
    { timeoutMs: 15_000 },
  );
  assert.deepEqual(
    gauges,
    [0, 1, 2].map((i) => (i === leader ? '1' : '0')),
  );
});

test('partition, heal, kill, three times: a leader every time, and healed servers win again', {
  timeout: 180_000,
}, async () => {
  for (let round = 0; round < 3; round++) {
    const cut = await eventually('a leader', () => ha.leader(), { timeoutMs: 15_000 });
    ha.partition(cut);
    const next = await leaderOtherThan(cut);
    ha.heal(cut);
    await eventually(`server ${cut} following after the heal`, async () => (await ha.leader()) === next, {
      timeoutMs: 30_000,
    });
    const killedAt = Date.now();
    await ha.kill(next);
    await leaderOtherThan(next);
    assert.ok(Date.now() - killedAt < 10_000, 'a new leader within seconds of the kill');
    await ha.startServer(next);
  }
});
