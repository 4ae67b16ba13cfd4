// The I/O half of indirect probes, with fake nodes and mocked timers: when probes go out, and
// what a reachable answer and a refused one lead to.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FEATURES } from '../protocol/features.ts';
import type { Cluster, NodeSession } from './cluster.ts';
import type { EventLog } from './event-log.ts';
import { NodeProbes, REPROBE_MS } from './node-probes.ts';

interface Sent {
  readonly to: string;
  readonly message: { type: string; probe_id: string };
}

function fixture() {
  const sent: Sent[] = [];
  const node = (id: string, status: NodeSession['status'], connected: boolean) =>
    ({
      id,
      status,
      registration: { address: `10.0.0.${id.at(-1)}` },
      lastSeen: 0,
      probedDown: false,
      features: new Set([FEATURES.nodeProbe]),
      link: connected ? { send: (message: Sent['message']) => sent.push({ to: id, message }) } : undefined,
    }) as unknown as NodeSession;
  const nodes = [node('n1', 'unreachable', false), node('n2', 'ready', true), node('n3', 'ready', true)];
  let downs = 0;
  const cluster = {
    get: (id: string) => nodes.find((n) => n.id === id),
    list: () => nodes,
    probedDown: (id: string) => {
      const found = nodes.find((n) => n.id === id);
      if (found) found.probedDown = true;
      return found !== undefined;
    },
  } as unknown as Cluster;
  const store = {
    tasksOnNode: () => [
      {
        id: 't1',
        desiredState: 'running',
        observed: { state: 'running', ports: [{ host_port: 32768, protocol: 'tcp' }] },
      },
    ],
  } as never;
  const events = { append: () => {} } as unknown as EventLog;
  const probes = new NodeProbes({
    cluster,
    store,
    events,
    now: () => Date.now(),
    onDown: () => downs++,
    log: () => {},
  });
  return { probes, sent, downs: () => downs };
}

test('a node whose replicas still answer is probed again REPROBE_MS (100 ms) later, and called down once none answer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  assert.equal(REPROBE_MS, 100);
  const { probes, sent, downs } = fixture();
  probes.start('n1');
  assert.deepEqual(
    sent.map((s) => s.to),
    ['n2', 'n3'],
  );
  const first = sent[0]?.message.probe_id ?? '';
  // An agent restart (or a host dying piece by piece): its replicas still answer.
  probes.result('n2', first, true, '32768 ok');
  t.mock.timers.tick(REPROBE_MS - 1);
  assert.equal(sent.length, 2, 'not probed again before REPROBE_MS');
  t.mock.timers.tick(1);
  assert.equal(sent.length, 4, 'probed again after REPROBE_MS');
  const second = sent[2]?.message.probe_id ?? '';
  probes.result('n2', second, false, '32768 refused');
  assert.equal(downs(), 0, 'one prober is not all of them');
  probes.result('n3', second, false, '32768 refused');
  assert.equal(downs(), 1);
  t.mock.timers.tick(10 * REPROBE_MS);
  assert.equal(sent.length, 4, 'a node found down is not probed again');
});
