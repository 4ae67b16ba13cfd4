/**
 * Real processes, real engine: an agent whose data dir belongs to another cluster is refused by
 * the server, says once what to do, retries with a growing backoff (not four times a second), is
 * listed by `skiff nodes` with the reason, and joins once its data dir is reset as it advised.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { nodeViewSchema } from '../src/model/views.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

let skiff: SkiffCluster;
const OLD_CLUSTER = `old-cluster-${process.pid}`;

before(async () => {
  skiff = await SkiffCluster.startServerOnly('127.0.0.1');
  const agentDir = join(skiff.dataDir, 'agent');
  mkdirSync(agentDir, { recursive: true });
  writeFileSync(
    join(agentDir, 'assignment.json'),
    JSON.stringify({ cluster_id: OLD_CLUSTER, generation: 4, tasks: [] }),
  );
  await skiff.startAgent();
});
after(async () => {
  await skiff?.stop();
});

async function node1() {
  const nodes = nodeViewSchema.array().parse((await skiff.api('GET', '/api/nodes')).body);
  return nodes.find((n) => n.name === 'node-1');
}

const lastTried = (message: string | null | undefined) => /last tried (\S+)\)/.exec(message ?? '')?.[1];

test('refused, said once, retried with backoff, and listed with the reason', async () => {
  const tries: number[] = [];
  await eventually(
    'three refused attempts',
    async () => {
      const at = lastTried((await node1())?.message);
      if (at !== undefined && !tries.includes(Date.parse(at))) tries.push(Date.parse(at));
      return tries.length >= 3;
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  const [first = 0, second = 0, third = 0] = tries;
  assert.ok(second - first >= 800, `the first retry waits about a second, waited ${second - first} ms`);
  assert.ok(third - second >= 1600, `the next waits about twice as long, waited ${third - second} ms`);

  const agentLines = skiff.output.filter((line) => line.startsWith('[agent]'));
  const advice = agentLines.filter((line) => /refused this agent/.test(line));
  assert.equal(advice.length, 1, `said once over three attempts:\n${agentLines.join('\n')}`);
  assert.match(advice[0] ?? '', new RegExp(`belongs to cluster ${OLD_CLUSTER}`));
  const text = skiff.output.join('\n');
  assert.match(text, /remove \S+\/agent\/assignment\.json \(or start it with a fresh --data-dir\)/);

  const node = await node1();
  assert.equal(node?.status, 'unreachable');
  assert.match(node?.message ?? '', new RegExp(`^refused: its data dir belongs to cluster ${OLD_CLUSTER}`));
  const listed = await skiff.cli(['nodes']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /MESSAGE/);
  assert.match(listed.stdout, /node-1\s+unreachable\s.*refused: its data dir belongs to cluster/);

  const events = (await skiff.api('GET', '/api/events')).body as { message: string }[];
  assert.equal(events.filter((e) => /refused/.test(e.message)).length, 1, 'one event, not one per retry');
});

test('reset as advised, the agent joins', async () => {
  await skiff.kill('agent');
  rmSync(join(skiff.dataDir, 'agent', 'assignment.json'));
  await skiff.startAgent();
  const node = await eventually('node-1 ready', async () => {
    const found = await node1();
    return found?.status === 'ready' ? found : undefined;
  });
  assert.equal(node.message, null);
});
